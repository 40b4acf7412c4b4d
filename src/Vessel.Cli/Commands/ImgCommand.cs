using System.CommandLine;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel img</c>: the image tool, with the sub-commands people know from qemu-img.</summary>
internal static class ImgCommand
{
    public static Command Create()
    {
        var command = new Command("img", "Create, inspect, check and convert disk images (raw and qcow2).");
        return command;
    }
}
