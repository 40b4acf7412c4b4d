namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>Boots the reference guest (<c>../shared/guest</c>) and drives its BusyBox shell.</summary>
public static class ReferenceGuest
{
    public const string Prompt = "/ # ";
    public const string InitramfsCommandLine = "console=ttyS0 panic=-1";

    /// <summary>The same, with kernel messages kept off the console so they cannot interleave with command output.</summary>
    public const string QuietInitramfsCommandLine = "console=ttyS0 panic=-1 quiet";

    /// <summary>Starts <c>vessel run</c> with the reference kernel and initramfs and any extra options.</summary>
    public static VesselProcess StartInitramfs(params string[] extraOptions) => StartInitramfsWith(InitramfsCommandLine, extraOptions);

    /// <summary>Starts <c>vessel run</c> with the reference kernel and initramfs, a command line and extra options.</summary>
    public static VesselProcess StartInitramfsWith(string commandLine, params string[] extraOptions)
    {
        var arguments = new List<string>
        {
            "run", "--kernel", TestPaths.GuestKernel, "--initrd", TestPaths.GuestInitrd,
            "--append", commandLine,
        };
        arguments.AddRange(extraOptions);
        return VesselProcess.Start([.. arguments]);
    }

    /// <summary>Runs a shell command at the prompt and returns what it printed (without the echo and the next prompt).</summary>
    public static string RunCommand(this VesselProcess vm, string command)
    {
        vm.SendLine(command);
        vm.WaitFor(command + "\r\n");
        System.Text.RegularExpressions.Match match = vm.WaitFor(new System.Text.RegularExpressions.Regex("(?s)(.*?)" + System.Text.RegularExpressions.Regex.Escape(Prompt)));
        return match.Groups[1].Value.Replace("\r", string.Empty);
    }
}
