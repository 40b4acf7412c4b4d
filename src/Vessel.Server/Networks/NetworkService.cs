using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;

namespace Vessel.Server.Networks;

/// <summary>
/// Networks and what a NIC on each becomes: <c>nat</c> is each VM's own user-mode NAT (its
/// port forwards on the NIC); <c>isolated</c> is a <c>vessel switch</c> process per network,
/// started on demand and left running across daemon restarts like the VMMs; <c>bridged</c> is a
/// TAP device per NIC on a host bridge (root only).
/// </summary>
public sealed class NetworkService(ServerOptions options, ILogger<NetworkService> logger)
{
    private readonly SemaphoreSlim _switchGate = new(1, 1);

    public static string CheckKind(string? kind) => kind switch
    {
        "nat" or "isolated" or "bridged" => kind,
        _ => throw ApiException.BadRequest($"A network is nat, isolated or bridged, not '{kind}'."),
    };

    public string SwitchSocket(NetworkRecord network) => Path.Combine(options.NetworksDirectory, network.Id.ToString("N"), "switch.sock");

    private string SwitchPidFile(NetworkRecord network) => Path.Combine(options.NetworksDirectory, network.Id.ToString("N"), "switch.pid");

    /// <summary>The <c>--net</c> value for a NIC, starting its network's switch or creating its TAP first.</summary>
    public async Task<string> PrepareNicAsync(NicRecord nic, VmRecord vm, CancellationToken cancellationToken)
    {
        NetworkRecord network = nic.Network!;
        switch (network.Kind)
        {
            case "nat":
                string forwards = string.Concat(Vmm.VmDefinitions.SplitForwards(nic.PortForwards).Select(f => ",hostfwd=" + f));
                return $"user,mac={nic.Mac}{forwards}";
            case "isolated":
                await EnsureSwitchAsync(network, cancellationToken);
                return $"switch,path={SwitchSocket(network)},mac={nic.Mac}";
            case "bridged":
                string tap = TapName(vm, nic);
                await EnsureTapAsync(tap, network.Bridge!, cancellationToken);
                return $"tap,ifname={tap},mac={nic.Mac}";
            default:
                throw new OperationFailedException($"Network '{network.Name}' has an unknown kind '{network.Kind}'.");
        }
    }

    /// <summary>A TAP name (at most 15 characters) that stays the same for a NIC.</summary>
    public static string TapName(VmRecord vm, NicRecord nic) => $"vt{vm.Id.ToString("N")[..10]}{nic.Slot}";

    public bool IsSwitchRunning(NetworkRecord network)
    {
        string socketPath = SwitchSocket(network);
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Starts the network's switch unless one answers on its socket already.</summary>
    public async Task EnsureSwitchAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        await _switchGate.WaitAsync(cancellationToken);
        try
        {
            if (IsSwitchRunning(network))
            {
                return;
            }

            string socketPath = SwitchSocket(network);
            Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
            File.Delete(socketPath);
            var start = new ProcessStartInfo(options.VesselProgram) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in options.VesselPrefixArguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.ArgumentList.Add("switch");
            start.ArgumentList.Add(socketPath);
            Process process = Process.Start(start) ?? throw new OperationFailedException($"The switch of network '{network.Name}' could not be started.");
            process.StandardInput.Close();
            // Its output is drained so that it never blocks on a full pipe; it outlives the daemon.
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await File.WriteAllTextAsync(SwitchPidFile(network), process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (!IsSwitchRunning(network))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new OperationFailedException($"The switch of network '{network.Name}' did not start.");
                }

                await Task.Delay(50, cancellationToken);
            }

            logger.LogInformation("Started the switch of network {Name} (pid {Pid})", network.Name, process.Id);
        }
        finally
        {
            _switchGate.Release();
        }
    }

    public void StopSwitch(NetworkRecord network)
    {
        try
        {
            if (int.TryParse(File.ReadAllText(SwitchPidFile(network)).Trim(), out int pid)
                && File.ReadAllText($"/proc/{pid}/cmdline").Contains(SwitchSocket(network), StringComparison.Ordinal))
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }

        try
        {
            Directory.Delete(Path.GetDirectoryName(SwitchSocket(network))!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task EnsureTapAsync(string tap, string bridge, CancellationToken cancellationToken)
    {
        if (!Directory.Exists($"/sys/class/net/{bridge}/bridge"))
        {
            throw new OperationFailedException($"There is no host bridge '{bridge}'; create it (ip link add {bridge} type bridge) or change the network.");
        }

        if (!Directory.Exists($"/sys/class/net/{tap}"))
        {
            await RunIpAsync(cancellationToken, "tuntap", "add", "dev", tap, "mode", "tap");
        }

        await RunIpAsync(cancellationToken, "link", "set", tap, "master", bridge, "up");
    }

    private static async Task RunIpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new OperationFailedException("The ip command could not be run.");
        string error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new OperationFailedException($"ip {string.Join(' ', arguments)} failed: {error.Trim().TrimEnd('.')} (bridged networks need root).");
        }
    }

    public async Task<NetworkInfo> ToInfoAsync(InventoryContext db, NetworkRecord network)
    {
        List<string> users = await db.Nics.Where(n => n.NetworkId == network.Id)
            .Join(db.Vms, n => n.VmId, v => v.Id, (n, v) => v.Name).Distinct().ToListAsync();
        return new NetworkInfo(network.Name, network.Kind, network.Bridge, users, network.Kind != "isolated" || IsSwitchRunning(network));
    }
}
