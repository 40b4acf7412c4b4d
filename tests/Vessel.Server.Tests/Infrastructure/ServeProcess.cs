using System.Diagnostics;
using System.Text;
using Vessel.Client;

namespace Vessel.Server.Tests.Infrastructure;

/// <summary>
/// A real <c>vessel serve</c> process on a data directory of its own, as a user runs it, with a
/// client over its Unix socket. Disposing it ends the daemon and every VMM it started.
/// </summary>
public sealed class ServeProcess : IDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServeProcess(string dataDirectory, Process process)
    {
        DataDirectory = dataDirectory;
        _process = process;
        Client = VesselClient.ForDataDirectory(dataDirectory);
    }

    public string DataDirectory { get; }

    public VesselClient Client { get; }

    public int ProcessId => _process.Id;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the daemon with <paramref name="arguments"/> added; without a <c>--listen</c> among
    /// them it serves the Unix socket only (the default port 8006 is for one daemon per host, and
    /// tests run many).
    /// </summary>
    public static Task<ServeProcess> StartAsync(string dataDirectory, params string[] arguments) => StartInAsync([], dataDirectory, arguments);

    /// <summary>Starts the daemon behind <paramref name="prefix"/> (<c>ip netns exec NS</c>: on a test host).</summary>
    public static async Task<ServeProcess> StartInAsync(IReadOnlyList<string> prefix, string dataDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        string[] listen = arguments.Contains("--listen") ? [] : ["--listen", "none"];
        string[] all = [.. prefix.Skip(1), .. prefix.Count > 0 ? ["dotnet"] : Array.Empty<string>(), TestFiles.VesselAssembly, "serve", "--data-dir", dataDirectory, "--no-default-template", .. listen, .. arguments];
        foreach (string argument in all)
        {
            start.ArgumentList.Add(argument);
        }

        var serve = new ServeProcess(dataDirectory, Process.Start(start)!);
        serve._process.StandardInput.Close();
        serve._process.OutputDataReceived += (_, e) => serve.Append(e.Data);
        serve._process.ErrorDataReceived += (_, e) => serve.Append(e.Data);
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                await serve.Client.GetServerInfoAsync();
                return serve;
            }
            catch (VesselApiException) when (DateTime.UtcNow < deadline && !serve._process.HasExited)
            {
                await Task.Delay(200);
            }
            catch (VesselApiException e)
            {
                string log = serve.Log;
                serve.Dispose();
                throw new InvalidOperationException($"vessel serve did not answer: {e.Message}\n{log}");
            }
        }
    }

    /// <summary>Waits until the daemon has printed a line that starts with <paramref name="prefix"/>, and returns the rest of it.</summary>
    public async Task<string> WaitForLineAsync(string prefix)
    {
        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            string? line = Log.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (line is not null)
            {
                return line[prefix.Length..];
            }

            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new InvalidOperationException($"vessel serve did not print '{prefix}':\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    /// <summary>Kills the daemon with SIGKILL (no chance to tidy up) and waits until it is gone.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        Client.Dispose();
        _process.Dispose();
    }
}
