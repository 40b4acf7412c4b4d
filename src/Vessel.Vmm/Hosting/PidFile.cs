using System.Globalization;
using System.Runtime.InteropServices;
using Vessel.Vmm.Native;

namespace Vessel.Vmm.Hosting;

/// <summary>
/// <c>--pidfile PATH</c>: the VMM's process id in a file, written atomically (a reader sees the
/// old content or the whole new one, never a torn number) and removed when the VMM ends. A file
/// that names another process that is still running is left alone and the VMM refuses to start,
/// so two VMMs are never managed through one pidfile.
/// </summary>
public sealed class PidFile : IDisposable
{
    private const int NoSuchProcess = 3; // ESRCH

    private readonly string _path;
    private readonly int _pid;

    private PidFile(string path, int pid)
    {
        _path = path;
        _pid = pid;
    }

    /// <exception cref="VmmException">Another live process holds the file, or it cannot be written (one sentence).</exception>
    public static PidFile Create(string path)
    {
        int pid = Environment.ProcessId;
        int? holder = ReadPid(path);
        if (holder is { } other && other != pid && IsAlive(other))
        {
            throw new VmmException($"--pidfile '{path}' belongs to process {other}, which is still running.");
        }

        string temporary = $"{path}.{pid}.tmp";
        try
        {
            File.WriteAllText(temporary, pid.ToString(CultureInfo.InvariantCulture) + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new VmmException($"cannot write --pidfile '{path}': {e.Message.TrimEnd('.')}.");
        }

        return new PidFile(path, pid);
    }

    /// <summary>The process id in the file at <paramref name="path"/>, or null when there is none to read.</summary>
    public static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsAlive(int pid) =>
        LibC.Kill(pid, 0) == 0 || Marshal.GetLastSystemError() != NoSuchProcess;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Removes the file, unless someone has put another process's id in it meanwhile.</summary>
    public void Dispose()
    {
        if (ReadPid(_path) == _pid)
        {
            TryDelete(_path);
        }
    }
}
