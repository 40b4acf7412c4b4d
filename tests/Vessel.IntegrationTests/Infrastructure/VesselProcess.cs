using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// Runs the real <c>vessel</c> CLI as a child process with its console on pipes, as a user's
/// script would, and lets a test wait for output, type lines and collect the exit code. The
/// whole console transcript is kept for failure messages.
/// </summary>
public sealed class VesselProcess : IDisposable
{
    /// <summary>Generous: these machines are shared and noisy.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly object _gate = new();
    private int _searchFrom;

    private VesselProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the guest console printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the CLI printed on stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_gate)
            {
                return _error.ToString();
            }
        }
    }

    public static VesselProcess Start(params string[] arguments) => Start(new Dictionary<string, string>(), arguments);

    /// <summary>Starts the CLI with extra environment variables (settings that have no option yet).</summary>
    public static VesselProcess Start(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartProgram(environment, "dotnet", [TestPaths.CliAssembly, .. arguments]);

    /// <summary>Starts any program with its console on pipes (e.g. vessel under a wrapper).</summary>
    public static VesselProcess StartProgram(string program, params string[] arguments) =>
        StartProgram(new Dictionary<string, string>(), program, arguments);

    private static VesselProcess StartProgram(IReadOnlyDictionary<string, string> environment, string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var vessel = new VesselProcess(process);
        process.Start();
        vessel.Pump(process.StandardOutput.BaseStream, vessel._output);
        vessel.Pump(process.StandardError.BaseStream, vessel._error);
        return vessel;
    }

    private void Pump(Stream stream, StringBuilder target)
    {
        var thread = new Thread(() =>
        {
            byte[] buffer = new byte[4096];
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                lock (_gate)
                {
                    target.Append(Encoding.Latin1.GetString(buffer, 0, read));
                    Monitor.PulseAll(_gate);
                }
            }
        })
        { IsBackground = true };
        thread.Start();
    }

    /// <summary>
    /// Waits until the console output after the previous match contains <paramref name="text"/>;
    /// later waits search only after it.
    /// </summary>
    public void WaitFor(string text, TimeSpan? timeout = null) =>
        WaitFor(new Regex(Regex.Escape(text)), timeout);

    /// <summary>Waits for <paramref name="pattern"/> in the output after the previous match; returns the match.</summary>
    public Match WaitFor(Regex pattern, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        lock (_gate)
        {
            while (true)
            {
                Match match = pattern.Match(_output.ToString(), _searchFrom);
                if (match.Success)
                {
                    _searchFrom = match.Index + match.Length;
                    return match;
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || (_process.HasExited && !Monitor.Wait(_gate, 200)))
                {
                    throw new TimeoutException(
                        $"Did not see /{pattern}/ within {(timeout ?? DefaultTimeout).TotalSeconds} s. " +
                        $"Exited: {(_process.HasExited ? $"yes, code {_process.ExitCode}" : "no")}. Console so far:\n{Tail(_output.ToString())}\nStderr:\n{_error}");
                }

                Monitor.Wait(_gate, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Types a line into the guest console.</summary>
    public void SendLine(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    /// <summary>Sends raw bytes (e.g. Ctrl-A x).</summary>
    public void Send(string text)
    {
        _process.StandardInput.Write(text);
        _process.StandardInput.Flush();
    }

    /// <summary>The VMM process's resident memory (VmRSS) in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc/PID/status");
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public int WaitForExit(TimeSpan? timeout = null)
    {
        if (!_process.WaitForExit(timeout ?? DefaultTimeout))
        {
            throw new TimeoutException($"vessel did not exit in time. Console:\n{Tail(Output)}\nStderr:\n{Error}");
        }

        _process.WaitForExit(); // drain the output pumps
        return _process.ExitCode;
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
