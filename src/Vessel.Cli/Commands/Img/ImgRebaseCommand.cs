using System.CommandLine;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img rebase [-u] [-f FMT] [-p] -b NEW [-F FMT] FILE</c>.</summary>
internal static class ImgRebaseCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var backing = new Option<string>("-b") { Description = "The new backing file (\"\" for none: the image becomes standalone)", HelpName = "BACKING", Required = true };
        var backingFormat = new Option<string?>("-F") { Description = "Format of the new backing file (detected when omitted)", HelpName = "BACKING_FORMAT" }.OneOf(ImgArguments.Formats);
        var unsafeMode = new Option<bool>("-u") { Description = "Unsafe: only change the backing file name, copy nothing" };
        var progress = new Option<bool>("-p") { Description = "Show progress" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var file = new Argument<string>("FILE") { Description = "The overlay to rebase", HelpName = "FILE" };
        var command = new Command("rebase", "Change the backing file of an image, keeping what the guest sees (unless -u).") { format, backing, backingFormat, unsafeMode, progress, quiet, file };
        command.SetAction(result =>
        {
            using ProgressBar? bar = result.GetValue(progress) && !result.GetValue(quiet) ? new ProgressBar() : null;
            ImageRebaser.Rebase(
                result.GetValue(file)!,
                ImgArguments.Format(result.GetValue(format)),
                result.GetValue(backing) ?? string.Empty,
                ImgArguments.Format(result.GetValue(backingFormat)),
                result.GetValue(unsafeMode),
                bar?.Callback);
            return 0;
        });
        return command;
    }
}
