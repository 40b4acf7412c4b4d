using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// virtio-net on a TAP interface (<c>--net tap,ifname=NAME</c>) seen from a real Linux guest.
/// The VM runs in a network namespace of its own, so its TAP interface appears there and the
/// namespace's kernel plays the host: pings go both ways, and data crosses both ways over TCP
/// connections opened from either end.
/// </summary>
/// <remarks>
/// Namespaces belong to threads on Linux: a thread of this test that enters the namespace
/// (<c>setns</c>, what <c>ip netns exec</c> does before it runs a program) starts the CLI, which
/// inherits the namespace, and makes the host's sockets there, which stay in it whichever thread
/// uses them later. So the usual <see cref="VesselProcess"/> drives the console.
/// </remarks>
public sealed partial class TapNetworkTests
{
    private const int CapNetAdmin = 12;
    private const int CloneNewNet = 0x40000000;
    private const string HostAddress = "10.0.77.1";
    private const string GuestAddress = "10.0.77.2";
    private const int GuestPort = 7000;
    private const int PayloadLength = 2 * 1024 * 1024;
    private static readonly TimeSpan s_setupTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public void AGuestOnATapInterfacePingsAndExchangesDataWithTheHostSide()
    {
        Skip.IfNot(HasEffectiveCapability(CapNetAdmin), "TAP networking and network namespaces need CAP_NET_ADMIN, which this process lacks");

        string suffix = Guid.NewGuid().ToString("N")[..8];
        string ns = "vessel-tap-" + suffix;
        string tap = "vtap" + suffix;
        Ip($"netns add {ns}");
        VesselProcess? vm = null;
        try
        {
            vm = InNamespace(ns, () => ReferenceGuest.StartInitramfs("--net", $"tap,ifname={tap}"));
            WaitForInterface(ns, tap, vm);
            Ip($"-n {ns} link set lo up");
            Ip($"-n {ns} addr add {HostAddress}/24 dev {tap}");
            Ip($"-n {ns} link set {tap} up");

            vm.WaitFor(ReferenceGuest.Prompt);
            vm.RunCommand($"ip addr add {GuestAddress}/24 dev eth0");
            vm.RunCommand("ip link set eth0 up");

            Assert.Contains("3 packets received", vm.RunCommand($"ping -c 3 {HostAddress}"));
            for (int i = 0; i < 3; i++)
            {
                PingReply reply = InNamespace(ns, () =>
                {
                    using var ping = new Ping();
                    return ping.Send(GuestAddress, 20_000);
                });
                Assert.Equal(IPStatus.Success, reply.Status);
                Assert.Equal(IPAddress.Parse(GuestAddress), reply.Address);
            }

            GuestConnectsAndSendsToTheHost(vm, ns);
            HostConnectsAndSendsToTheGuest(vm, ns);

            vm.SendLine("poweroff -f");
            Assert.Equal(0, vm.WaitForExit());
        }
        finally
        {
            vm?.Dispose();
            Run("ip", $"netns del {ns}");
        }
    }

    /// <summary>The guest sends its own random data to a listener of the host side; both hash it.</summary>
    private static void GuestConnectsAndSendsToTheHost(VesselProcess vm, string ns)
    {
        // Bound to the TAP's address, which exists only in the namespace.
        using TcpListener listener = InNamespace(ns, () =>
        {
            var created = new TcpListener(IPAddress.Parse(HostAddress), 0);
            created.Start();
            return created;
        });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        vm.RunCommand($"head -c {PayloadLength} /dev/urandom > /upload");
        string guestHash = vm.RunCommand("sha256sum /upload")[..64];

        Task<string> receive = Task.Run(() =>
        {
            using TcpClient client = listener.AcceptTcpClient();
            byte[] received = ReadToEnd(client.GetStream());
            return received.Length == PayloadLength ? Convert.ToHexStringLower(SHA256.HashData(received)) : $"{received.Length} bytes";
        });

        // BusyBox nc half-closes when its stdin ends and exits once the host has closed too.
        vm.RunCommand($"nc {HostAddress} {port} < /upload");
        Assert.True(receive.Wait(VesselProcess.DefaultTimeout), "the host side received nothing in time");
        Assert.Equal(guestHash, receive.Result);
    }

    /// <summary>The host side connects to a guest listener and sends random data; the guest hashes it.</summary>
    private static void HostConnectsAndSendsToTheGuest(VesselProcess vm, string ns)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(PayloadLength);
        vm.SendLine($"nc -l -p {GuestPort} </dev/null | sha256sum");

        // Refused until the guest's nc listens: retry.
        using TcpClient client = InNamespace(ns, () =>
        {
            var stopwatch = Stopwatch.StartNew();
            while (true)
            {
                var attempt = new TcpClient();
                try
                {
                    attempt.Connect(IPAddress.Parse(GuestAddress), GuestPort);
                    return attempt;
                }
                catch (SocketException)
                {
                    attempt.Dispose();
                    if (stopwatch.Elapsed > s_setupTimeout)
                    {
                        throw;
                    }

                    Thread.Sleep(200);
                }
            }
        });
        NetworkStream stream = client.GetStream();
        stream.Write(payload);
        client.Client.Shutdown(SocketShutdown.Send);

        Match hash = vm.WaitFor(new Regex("[0-9a-f]{64}"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(payload)), hash.Value);
        vm.WaitFor(ReferenceGuest.Prompt);
    }

    private static byte[] ReadToEnd(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own that has entered the network namespace.</summary>
    private static T InNamespace<T>(string ns, Func<T> action)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                // `ip netns add` keeps the namespace alive by a bind mount under /var/run/netns.
                using SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns}", FileMode.Open, FileAccess.Read);
                if (SetNs(handle.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns into {ns} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }

                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Waits until the VMM has created its TAP interface in the namespace.</summary>
    private static void WaitForInterface(string ns, string tap, VesselProcess vm)
    {
        var stopwatch = Stopwatch.StartNew();
        while (Run("ip", $"-n {ns} link show {tap}").Code != 0)
        {
            Assert.True(stopwatch.Elapsed < s_setupTimeout, $"no TAP interface {tap} in {ns}. Stderr:\n{vm.Error}\nConsole:\n{vm.Output}");
            Thread.Sleep(200);
        }
    }

    /// <summary>Whether the capability is in this process's effective set (/proc/self/status, CapEff).</summary>
    private static bool HasEffectiveCapability(int capability)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        ulong effective = ulong.Parse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (effective & (1UL << capability)) != 0;
    }

    private static void Ip(string arguments)
    {
        (int code, string text) = Run("ip", arguments);
        Assert.True(code == 0, $"ip {arguments} failed: {text}");
    }

    private static (int Code, string Output) Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} {arguments} timed out");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);
}
