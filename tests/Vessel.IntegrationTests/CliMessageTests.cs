using System.CommandLine;
using Vessel.Cli;
using Vessel.IntegrationTests.Infrastructure;
using Vessel.Storage;

namespace Vessel.IntegrationTests;

/// <summary>
/// The exact sentence and exit code of each kind of mistake, for every command: a wrong
/// command line (unknown command or option, a value of the wrong kind, a missing argument)
/// exits 2, a command that could not be carried out exits 1.
/// </summary>
public sealed class CliMessageTests
{
    private const int Usage = 2;
    private const int Failure = 1;

    private static readonly string s_kernel = TestPaths.GuestKernel;

    public static TheoryData<string[], string, int> Mistakes => new()
    {
        { [], "a command is needed; the commands are run, img, switch, serve, agent, host, vm, snapshot, template, pool, volume, network, operation, user, group, role, acl, token, audit and license.", Usage },
        { ["frobnicate"], "'frobnicate' is not a vessel command; the commands are run, img, switch, serve, agent, host, vm, snapshot, template, pool, volume, network, operation, user, group, role, acl, token, audit and license.", Usage },
        { ["--frobnicate"], "'--frobnicate' is not a vessel option; the commands are run, img, switch, serve, agent, host, vm, snapshot, template, pool, volume, network, operation, user, group, role, acl, token, audit and license.", Usage },
        { ["img"], "vessel img needs a command; the commands are create, info, check, convert, resize, snapshot, commit, rebase, map, compare and bench.", Usage },
        { ["img", "frob"], "'frob' is not a vessel img command; the commands are create, info, check, convert, resize, snapshot, commit, rebase, map, compare and bench.", Usage },
        {
            ["run", "--kernel", s_kernel, "--frobnicate"],
            "'--frobnicate' is not a vessel run option; the options are --kernel, --initrd, --append, --memory, --cpus, --bios, --cpu-engine, --cpu-threads, --drive, --device, --console, --net, --qmp, --serial, --daemonize, --pidfile, --incoming, -S, --name, --uuid, --clock, --display and --cdrom.",
            Usage
        },
        { ["run", "--kernel", s_kernel, "--cpus", "four"], "--cpus takes a whole number, not 'four'.", Usage },
        { ["run", "--kernel", s_kernel, "--cpus"], "--cpus needs a value (N).", Usage },
        { ["run", "--kernel", s_kernel, "--cpus", "9"], "--cpus must be between 1 and 8, not 9.", Usage },
        { ["run", "--kernel", s_kernel, "--memory", "10"], "--memory 10 is too small; a VM needs at least 16M.", Usage },
        { ["run", "--kernel", s_kernel, "--memory", "64T"], $"--memory 64T is more than this host has ({HostMebibytes()} MiB).", Usage },
        { ["run", "--kernel", s_kernel, "--cpu-threads", "dual"], "--cpu-threads takes single or multi, not 'dual'.", Usage },
        { ["run", "--kernel", s_kernel, "--device", "virtio-gpu"], "--device takes virtio-rng or virtio-balloon, not 'virtio-gpu'.", Usage },
        { ["run", "--kernel", s_kernel, "--net", "none", "--net", "user"], "--net none means no network card, so it cannot go with another --net.", Usage },
        { ["run", "--kernel", s_kernel, "--drive", "file=x.img,force-share=on"], "--drive force-share=on needs readonly=on.", Usage },
        { ["run", "--kernel", s_kernel, "extra"], "vessel run takes no arguments, only options, so 'extra' is one too many.", Usage },
        { ["run", "--kernel", "/nonexistent/Image"], "kernel file '/nonexistent/Image' does not exist.", Failure },
        { ["img", "create", "-f", "qcow2"], "vessel img create needs FILE.", Usage },
        { ["img", "create", "-x", "new.img"], "'-x' is not a vessel img create option; the options are -f, -b, -F, -o and -q.", Usage },
        { ["img", "create", "-f", "vmdk", "new.vmdk", "1M"], "-f takes raw or qcow2, not 'vmdk'.", Usage },
        { ["img", "create", "-f", "raw", "new.img", "12Q"], "'12Q' is not a valid size: unknown suffix 'Q' (use k, M, G, T, P or E).", Usage },
        { ["img", "convert", "a.img"], "vessel img convert needs TARGET.", Usage },
        { ["img", "convert", "-t", "fast", "a.img", "b.img"], "-t takes unsafe, writeback, writethrough, none or directsync, not 'fast'.", Usage },
        { ["img", "info", "--output", "xml", "a.img"], "--output takes human or json, not 'xml'.", Usage },
        { ["img", "info", "a.img", "b.img"], "vessel img info takes FILE, so 'b.img' is one argument too many.", Usage },
        { ["img", "info", "/nonexistent/a.img"], "disk image '/nonexistent/a.img' does not exist.", Failure },
        { ["img", "check", "-r", "everything", "a.img"], "-r takes leaks or all, not 'everything'.", Usage },
        { ["img", "rebase", "a.img"], "vessel img rebase needs -b BACKING.", Usage },
        { ["img", "bench", "-c", "many", "a.img"], "-c takes a whole number, not 'many'.", Usage },
        { ["img", "snapshot", "a.img"], "give exactly one of -c NAME, -a NAME, -d NAME or -l.", Usage },
        { ["switch"], "vessel switch needs PATH.", Usage },
        { ["user"], "vessel user needs a command; the commands are add, list, passwd, delete, disable and enable.", Usage },
        { ["group", "frob"], "'frob' is not a vessel group command; the commands are add, list and delete.", Usage },
        { ["role", "add", "Starter"], "vessel role add needs --privs PRIVILEGES.", Usage },
        { ["acl", "set", "/vms"], "vessel acl set needs --role ROLE.", Usage },
        { ["token"], "vessel token needs a command; the commands are create, list and delete.", Usage },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void EachMistakeIsOneSentenceWithItsExitCode(string[] arguments, string sentence, int exitCode)
    {
        using var temp = new TempDirectory();
        (int code, string error) = Run(temp.Path, arguments);
        Assert.Equal("vessel: " + sentence + "\n", error);
        Assert.Equal(exitCode, code);
    }

    [Fact]
    public void ASizeBeyondWhatTheFormatAllowsIsAUsageMistakeToo()
    {
        using var temp = new TempDirectory();
        (int code, string error) = Run(temp.Path, ["img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=3000", "x.qcow2", "1M"]);
        Assert.Equal("vessel: cluster size 3000 is invalid: it must be a power of two between 512 and 2M.\n", error);
        Assert.Equal(Usage, code);
    }

    [Fact]
    public void AnImageInUseNamesTheOptionThatReadsItAnyway()
    {
        using var temp = new TempDirectory();
        string disk = temp.File("busy.raw");
        File.WriteAllBytes(disk, new byte[1024 * 1024]);
        using DiskImage writer = ImageOpener.Open(disk, new ImageOpenOptions { Format = ImageFormat.Raw });

        (int code, string error) = Run(temp.Path, ["img", "map", "busy.raw"]);
        Assert.Equal("vessel: disk image 'busy.raw' is in use by another process that may write to it (-U reads it anyway, while it may change underneath).\n", error);
        Assert.Equal(Failure, code);
        Assert.Equal(0, Run(temp.Path, ["img", "map", "-U", "busy.raw"]).ExitCode);

        (code, error) = Run(temp.Path, ["run", "--kernel", s_kernel, "--net", "none", "--drive", "file=busy.raw,format=raw,readonly=on"]);
        Assert.Equal("vessel: disk image 'busy.raw' is in use by another process that may write to it (add force-share=on to a readonly=on --drive to read it anyway).\n", error);
        Assert.Equal(Failure, code);

        // A writer is refused whatever it adds: there is no hint to give.
        (code, error) = Run(temp.Path, ["img", "resize", "busy.raw", "2M"]);
        Assert.Equal("vessel: disk image 'busy.raw' is in use by another process.\n", error);
        Assert.Equal(Failure, code);
    }

    [Fact]
    public void EveryOptionThatTakesAValueSaysWhatItTakes()
    {
        foreach (Command command in Commands(VesselCommand.Create()))
        {
            foreach (Option option in command.Options.Where(o => o.ValueType != typeof(bool)))
            {
                // FORMAT, SIZE, a list of the words it takes (human|json), or a form (file=PATH,...).
                string placeholder = option.HelpName ?? string.Empty;
                bool saysWhatItTakes = placeholder.Length > 0 &&
                    (placeholder == placeholder.ToUpperInvariant() || placeholder.Contains('|') || placeholder.Contains('='));
                Assert.True(saysWhatItTakes, $"'{command.Name} {option.Name}' shows <{placeholder}> in its help");
            }

            foreach (Argument argument in command.Arguments)
            {
                Assert.Equal(argument.Name.ToUpperInvariant(), argument.Name);
            }
        }
    }

    private static IEnumerable<Command> Commands(Command root) =>
        root.Subcommands.SelectMany(c => Commands(c).Prepend(c));

    private static (int ExitCode, string Error) Run(string directory, string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(TestPaths.CliAssembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "vessel did not exit");
        _ = output.Result;
        return (process.ExitCode, error);
    }

    private static ulong HostMebibytes()
    {
        string line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
