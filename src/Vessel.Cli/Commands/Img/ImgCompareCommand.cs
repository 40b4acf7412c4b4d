using System.CommandLine;
using Vessel.Storage;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img compare [-f FMT] [-F FMT] [-s] [-p] [-U] A B</c>: exit 0 identical, 1 different, 2 error.</summary>
internal static class ImgCompareCommand
{
    public static Command Create()
    {
        var firstFormat = new Option<string?>("-f") { Description = "Format of the first image: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var secondFormat = new Option<string?>("-F") { Description = "Format of the second image: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var strict = new Option<bool>("-s") { Description = "Strict: images of different sizes differ" };
        var progress = new Option<bool>("-p") { Description = "Show progress" };
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Compare even if another process has the images open for writing" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing (the exit code tells)" };
        var first = new Argument<string>("FIRST") { Description = "First image", HelpName = "FIRST" };
        var second = new Argument<string>("SECOND") { Description = "Second image", HelpName = "SECOND" };
        var command = new Command("compare", "Compare the content of two images.") { firstFormat, secondFormat, strict, progress, forceShare, quiet, first, second };
        command.SetAction(result =>
        {
            bool silent = result.GetValue(quiet);
            CompareResult outcome;
            try
            {
                using ProgressBar? bar = result.GetValue(progress) && !silent ? new ProgressBar() : null;
                outcome = ImageComparer.Compare(
                    result.GetValue(first)!,
                    ImgArguments.Format(result.GetValue(firstFormat)),
                    result.GetValue(second)!,
                    ImgArguments.Format(result.GetValue(secondFormat)),
                    result.GetValue(strict),
                    result.GetValue(forceShare),
                    bar?.Callback);
            }
            catch (Exception e) when (e is StorageException or UserErrorException)
            {
                Console.Error.WriteLine($"vessel: {e.Message.TrimEnd('.')}.");
                return 2;
            }

            if (!silent)
            {
                if (outcome.SizeMismatch)
                {
                    Console.Out.WriteLine(result.GetValue(strict) ? "Strict mode: Image size mismatch!" : "Warning: Image size mismatch!");
                }

                if (outcome.Identical)
                {
                    Console.Out.WriteLine("Images are identical.");
                }
                else if (outcome.FirstDifference is { } offset)
                {
                    Console.Out.WriteLine($"Content mismatch at offset {offset}!");
                }
            }

            return outcome.Identical ? 0 : 1;
        });
        return command;
    }
}
