using System.Runtime.InteropServices;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>
/// Linux capabilities are per thread: a test can drop one from the effective set of a thread
/// of its own and see what the code under test does without it, leaving the process alone.
/// </summary>
public static unsafe partial class Capabilities
{
    public const int NetAdmin = 12;
    private const uint Version3 = 0x20080522;

    /// <summary>Whether this process has <paramref name="capability"/> in its effective set (root usually has them all).</summary>
    public static bool HasEffective(int capability)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        ulong effective = ulong.Parse(line["CapEff:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return (effective & (1UL << capability)) != 0;
    }

    /// <summary>Skips the test, as the runner reports it, when this process lacks CAP_NET_ADMIN.</summary>
    public static void SkipUnlessNetAdmin() =>
        Skip.IfNot(HasEffective(NetAdmin), "TAP interfaces and network namespaces need CAP_NET_ADMIN, which this process lacks");

    /// <summary>Runs <paramref name="action"/> on a new thread without <paramref name="capability"/>; false if it could not be dropped.</summary>
    public static bool RunWithout(int capability, Action action)
    {
        Exception? failure = null;
        bool dropped = false;
        var thread = new Thread(() =>
        {
            // struct __user_cap_header_struct { u32 version; int pid; } and two
            // __user_cap_data_struct { u32 effective, permitted, inheritable; } on the stack.
            uint* header = stackalloc uint[2];
            uint* data = stackalloc uint[6];
            header[0] = Version3;
            header[1] = 0; // this thread
            if (CapGet(header, data) != 0)
            {
                return;
            }

            data[(capability / 32) * 3] &= ~(1u << (capability % 32));
            if (CapSet(header, data) != 0)
            {
                return;
            }

            dropped = true;
            try
            {
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new AggregateException(failure);
        }

        return dropped;
    }

    [LibraryImport("libc", EntryPoint = "capget")]
    private static partial int CapGet(uint* header, uint* data);

    [LibraryImport("libc", EntryPoint = "capset")]
    private static partial int CapSet(uint* header, uint* data);
}
