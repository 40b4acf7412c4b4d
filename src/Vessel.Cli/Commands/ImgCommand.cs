using System.CommandLine;
using Vessel.Cli.Commands.Img;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel img</c>: the image tool, with the sub-commands and options people know from qemu-img.
/// Each sub-command lives in Commands/Img/; the work is done by Vessel.Storage.Operations.
/// </summary>
internal static class ImgCommand
{
    public static Command Create()
    {
        var command = new Command("img", "Create, inspect, check and convert disk images (raw and qcow2).")
        {
            ImgCreateCommand.Create(),
            ImgInfoCommand.Create(),
            ImgCheckCommand.Create(),
            ImgConvertCommand.Create(),
            ImgResizeCommand.Create(),
            ImgSnapshotCommand.Create(),
            ImgCommitCommand.Create(),
            ImgRebaseCommand.Create(),
            ImgMapCommand.Create(),
            ImgCompareCommand.Create(),
            ImgBenchCommand.Create(),
        };
        return command;
    }
}
