using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Vessel.Testing.Hosts;

/// <summary>The C library's setns(2): the one native call of the test hosts.</summary>
internal static partial class Namespaces
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Moves the calling thread into the network namespace bound at <paramref name="path"/>.</summary>
    /// <exception cref="Win32Exception">setns failed (errno in the message).</exception>
    public static void EnterNetwork(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        if (SetNamespace((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns {path}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(int fd, int type);
}
