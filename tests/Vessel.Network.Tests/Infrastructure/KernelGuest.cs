using Vessel.Network.Tap;
using Vessel.Network.User;

namespace Vessel.Network.Tests.Infrastructure;

/// <summary>
/// A real Linux TCP/IP stack as the guest: a network namespace whose only interface is a TAP
/// device, bridged frame for frame to a <see cref="UserNetwork"/>. BusyBox (udhcpc, nc,
/// httpd, nslookup, ping: the same tools the reference guest uses) runs inside it. This is
/// the independent oracle for the NAT: nothing of ours is on the guest side.
/// </summary>
public sealed class KernelGuest : IDisposable
{
    private readonly NetNamespace _ns;
    private readonly TapBackend _tap;

    private KernelGuest(NetNamespace ns, TapBackend tap, UserNetwork network, string directory)
    {
        _ns = ns;
        _tap = tap;
        Network = network;
        Directory = directory;
    }

    public UserNetwork Network { get; }

    public string Interface => _tap.InterfaceName;

    public NetNamespace Namespace => _ns;

    /// <summary>A temporary directory for files the guest tools read and write.</summary>
    public string Directory { get; }

    /// <summary>
    /// Makes the guest, optionally over a bad wire: <paramref name="impairment"/> drops,
    /// reorders and duplicates frames in both directions (deterministically, from a seed).
    /// </summary>
    public static KernelGuest? TryCreate(UserNetworkOptions options, out string reason, Impairment? impairment = null)
    {
        if (NetNamespace.Run("busybox", "true").Code != 0)
        {
            reason = "busybox is not installed (scripts/setup installs it)";
            return null;
        }

        NetNamespace? ns = NetNamespace.TryCreate(out reason);
        if (ns is null)
        {
            return null;
        }

        TapBackend tap;
        try
        {
            tap = new TapBackend("vkg" + Guid.NewGuid().ToString("N")[..8]);
        }
        catch (NetworkBackendException e)
        {
            ns.Dispose();
            reason = e.Message;
            return null;
        }

        var network = new UserNetwork(options);
        tap.Attach(new Pipe(network, impairment, 1));
        network.Attach(new Pipe(tap, impairment, 2));
        network.Start();
        tap.Start();
        Assert.Equal(0, NetNamespace.Run("ip", $"link set {tap.InterfaceName} netns {ns.Name}").Code);
        ns.Ip($"link set {tap.InterfaceName} up");
        string directory = Path.Combine(Path.GetTempPath(), "vessel-kg-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        return new KernelGuest(ns, tap, network, directory);
    }

    /// <summary>Runs BusyBox udhcpc in the guest; returns the variables its script saw (ip, router, dns, ...).</summary>
    public Dictionary<string, string> Dhcp()
    {
        string script = Path.Combine(Directory, "udhcpc.sh");
        string result = Path.Combine(Directory, "lease");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            case "$1" in
              bound|renew)
                busybox ip addr add "$ip/$mask" dev "$interface"
                busybox ip route add default via "$router"
                printf 'ip=%s\nsubnet=%s\nmask=%s\nrouter=%s\ndns=%s\nlease=%s\nserverid=%s\n' "$ip" "$subnet" "$mask" "$router" "$dns" "$lease" "$serverid" > {{result}}
                ;;
            esac
            exit 0
            """);
        Assert.Equal(0, NetNamespace.Run("chmod", $"+x {script}").Code);
        (int code, string output) = _ns.Exec("busybox", $"udhcpc -i {Interface} -n -q -f -t 5 -T 2 -s {script}");
        Assert.True(code == 0, "udhcpc failed: " + output);
        return File.ReadAllLines(result).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
    }

    public void Dispose()
    {
        _ns.Dispose();
        _tap.Dispose();
        Network.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>How bad the wire between the guest and the NAT is, in percent of frames.</summary>
    public sealed record Impairment(double DropPercent, double ReorderPercent, double DuplicatePercent, int Seed = 1);

    /// <summary>One direction of the wire; called on one backend's thread only.</summary>
    private sealed class Pipe(INetworkBackend target, Impairment? impairment, int direction) : IFrameReceiver
    {
        private readonly Random _random = new((impairment?.Seed ?? 0) * 31 + direction);
        private byte[]? _held;

        public bool TryReceive(ReadOnlySpan<byte> frame)
        {
            if (impairment is null)
            {
                target.Send(frame);
                return true;
            }

            double roll = _random.NextDouble() * 100;
            if (roll < impairment.DropPercent)
            {
                return true;
            }

            if (_held is null && roll < impairment.DropPercent + impairment.ReorderPercent)
            {
                _held = frame.ToArray(); // goes out after the next frame
                return true;
            }

            target.Send(frame);
            if (roll >= 100 - impairment.DuplicatePercent)
            {
                target.Send(frame);
            }

            if (_held is not null)
            {
                target.Send(_held);
                _held = null;
            }

            return true;
        }
    }
}
