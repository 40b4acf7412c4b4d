using System.CommandLine;
using Vessel.Storage;
using Vessel.Storage.Qcow2;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img snapshot -c|-a|-d NAME FILE</c> and <c>vessel img snapshot -l FILE</c>.</summary>
internal static class ImgSnapshotCommand
{
    public static Command Create()
    {
        var create = new Option<string?>("-c") { Description = "Create a snapshot named NAME", HelpName = "NAME" };
        var apply = new Option<string?>("-a") { Description = "Revert the disk to snapshot NAME (or ID)", HelpName = "NAME" };
        var delete = new Option<string?>("-d") { Description = "Delete snapshot NAME (or ID)", HelpName = "NAME" };
        var list = new Option<bool>("-l") { Description = "List the snapshots" };
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "List even if another process has the image open for writing" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var file = new Argument<string>("FILE") { Description = "The qcow2 image", HelpName = "FILE" };
        var command = new Command("snapshot", "Create, apply, delete or list internal snapshots of a qcow2 image.") { create, apply, delete, list, format, forceShare, quiet, file };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            string? createName = result.GetValue(create);
            string? applyName = result.GetValue(apply);
            string? deleteName = result.GetValue(delete);
            bool listing = result.GetValue(list);
            int actions = (createName is null ? 0 : 1) + (applyName is null ? 0 : 1) + (deleteName is null ? 0 : 1) + (listing ? 1 : 0);
            if (actions != 1)
            {
                throw UserErrorException.Usage("give exactly one of -c NAME, -a NAME, -d NAME or -l");
            }

            using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions
            {
                Format = ImgArguments.Format(result.GetValue(format)),
                ReadOnly = listing,
                ForceShare = listing && result.GetValue(forceShare),
                OpenBacking = false,
            });
            if (image is not Qcow2Image qcow2)
            {
                throw UserErrorException.Failure($"'{path}' is a raw image; only qcow2 images have internal snapshots");
            }

            if (listing)
            {
                if (qcow2.Snapshots.Count > 0 && !result.GetValue(quiet))
                {
                    Console.Out.Write(ImgInfoCommand.SnapshotTable(qcow2.Snapshots));
                }
            }
            else if (createName is not null)
            {
                qcow2.CreateSnapshot(createName);
            }
            else if (applyName is not null)
            {
                qcow2.ApplySnapshot(applyName);
            }
            else
            {
                qcow2.DeleteSnapshot(deleteName!);
            }

            return 0;
        });
        return command;
    }
}
