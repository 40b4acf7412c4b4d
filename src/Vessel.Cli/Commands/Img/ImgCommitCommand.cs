using System.CommandLine;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img commit [-f FMT] [-p] [-d] FILE</c>.</summary>
internal static class ImgCommitCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var progress = new Option<bool>("-p") { Description = "Show progress" };
        var keep = new Option<bool>("-d") { Description = "Keep the overlay's content instead of emptying it" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var file = new Argument<string>("FILE") { Description = "The overlay whose changes go into its backing image", HelpName = "FILE" };
        var command = new Command("commit", "Write an overlay's changes into its backing image.") { format, progress, keep, quiet, file };
        command.SetAction(result =>
        {
            using ProgressBar? bar = result.GetValue(progress) && !result.GetValue(quiet) ? new ProgressBar() : null;
            ImageCommitter.Commit(result.GetValue(file)!, ImgArguments.Format(result.GetValue(format)), result.GetValue(keep), bar?.Callback);
            if (!result.GetValue(quiet))
            {
                Console.Out.WriteLine("Image committed.");
            }

            return 0;
        });
        return command;
    }
}
