using System.Diagnostics;
using System.Text.Json;

namespace Vessel.Storage.Tests.Support;

/// <summary>
/// A real qemu-system-riscv64 `virt` machine driven over QMP on its standard streams, for
/// savevm/loadvm. It runs no kernel, only a one-instruction loop (`j .`) at the start of RAM:
/// what matters is the machine state QEMU saves into the disk image.
/// </summary>
public sealed class QemuMachine : IDisposable
{
    /// <summary>How long one QMP reply may take before the machine is taken for hung (a guard, not a measurement).</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMinutes(3);

    private readonly Process _process;

    private QemuMachine(Process process)
    {
        _process = process;
    }

    /// <summary>Starts a paused machine with one virtio disk per qcow2 image (drive IDs d0, d1, ...).</summary>
    public static QemuMachine Start(string directory, params string[] images)
    {
        string loop = Path.Combine(directory, "loop.bin");
        File.WriteAllBytes(loop, [0x6f, 0x00, 0x00, 0x00]);
        var info = new ProcessStartInfo("qemu-system-riscv64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (string argument in new[]
        {
            "-M", "virt", "-m", "64M", "-display", "none", "-serial", "null", "-monitor", "none",
            "-bios", "none", "-device", $"loader,file={loop},addr=0x80000000", "-qmp", "stdio", "-S",
        })
        {
            info.ArgumentList.Add(argument);
        }

        for (int i = 0; i < images.Length; i++)
        {
            info.ArgumentList.Add("-drive");
            info.ArgumentList.Add($"file={images[i]},if=none,id=d{i},format=qcow2");
            info.ArgumentList.Add("-device");
            info.ArgumentList.Add($"virtio-blk-device,drive=d{i}");
        }

        var machine = new QemuMachine(Process.Start(info)!);
        machine._process.ErrorDataReceived += (_, _) => { };
        machine._process.BeginErrorReadLine();
        machine.ReadMessage();
        machine.Execute("qmp_capabilities");
        return machine;
    }

    /// <summary>Runs a QMP command and returns its "return" value; a QMP error fails the test.</summary>
    public JsonElement Execute(string command, object? arguments = null)
    {
        string request = JsonSerializer.Serialize(arguments is null ? new { execute = command } : (object)new { execute = command, arguments });
        _process.StandardInput.WriteLine(request);
        _process.StandardInput.Flush();
        while (true)
        {
            JsonElement reply = ReadMessage();
            if (reply.TryGetProperty("return", out JsonElement result))
            {
                return result;
            }

            Assert.False(reply.TryGetProperty("error", out JsonElement error), $"QMP {command}: {error}");
        }
    }

    /// <summary>Runs a human monitor command (savevm, loadvm, delvm, info snapshots) and returns its output.</summary>
    public string Hmp(string commandLine) =>
        Execute("human-monitor-command", new Dictionary<string, string> { ["command-line"] = commandLine }).GetString() ?? string.Empty;

    /// <summary>Runs a monitor command that prints nothing when it succeeds (savevm, loadvm, delvm).</summary>
    public void HmpOk(string commandLine)
    {
        string output = Hmp(commandLine);
        Assert.True(output.Length == 0, $"'{commandLine}' failed: {output}");
    }

    /// <summary>Quits QEMU and waits for it to close its images.</summary>
    public void Quit()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.StandardInput.WriteLine("{\"execute\":\"quit\"}");
        _process.StandardInput.Flush();
        if (!_process.WaitForExit(ReplyTimeout))
        {
            _process.Kill();
            throw new TimeoutException("qemu-system-riscv64 did not quit");
        }
    }

    private JsonElement ReadMessage()
    {
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(ReplyTimeout))
        {
            _process.Kill();
            throw new TimeoutException("qemu-system-riscv64 did not answer over QMP");
        }

        string text = line.Result ?? throw new InvalidOperationException($"qemu-system-riscv64 exited (code {(_process.HasExited ? _process.ExitCode : -1)})");
        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public void Dispose()
    {
        try
        {
            Quit();
        }
        catch (IOException)
        {
            // QEMU is gone already.
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }

            _process.Dispose();
        }
    }
}
