using System.Diagnostics;
using System.Globalization;
using System.Text;

/// <summary>A VMM process (vessel run or qemu-system-riscv64) with the guest's serial console on its standard input and output.</summary>
internal sealed class GuestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _searchFrom;

    public GuestProcess(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _ = Task.Run(() => Pump(_process.StandardOutput));
        _ = Task.Run(() => Pump(_process.StandardError));
    }

    public int Id => _process.Id;

    private void Pump(StreamReader reader)
    {
        char[] buffer = new char[4096];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            lock (_output)
            {
                _output.Append(buffer, 0, read);
            }
        }
    }

    /// <summary>Waits for <paramref name="text"/> after the previous match.</summary>
    public void WaitFor(string text, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_output)
            {
                int at = _output.ToString().IndexOf(text, _searchFrom, StringComparison.Ordinal);
                if (at >= 0)
                {
                    _searchFrom = at + text.Length;
                    return;
                }
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                string tail;
                lock (_output)
                {
                    tail = _output.ToString()[Math.Max(0, _output.Length - 400)..];
                }

                throw new TimeoutException($"bench: '{text}' did not come from {_process.StartInfo.FileName}; its last output: {tail}");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>Types a shell command that ends by printing <paramref name="marker"/> (computed by the shell, so its echo never matches) and waits for it.</summary>
    public void Run(string command, string marker, TimeSpan timeout)
    {
        _process.StandardInput.Write(command + "\n");
        _process.StandardInput.Flush();
        WaitFor(marker, timeout);
    }

    /// <summary>The process's CPU time (user + system), in seconds, from /proc.</summary>
    public double CpuSeconds()
    {
        string stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
