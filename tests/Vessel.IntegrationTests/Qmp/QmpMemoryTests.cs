using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// <c>x-vessel-query-memory</c> on a booted reference guest: the figures it reports come from
/// the running VMM (its GC heap, the decode cache the boot filled, the assemblies it loaded), and
/// the VMM loaded none of the daemon's assemblies.
/// </summary>
public sealed class QmpMemoryTests
{
    [Fact]
    public void ABootedVmmReportsItsMemoryAndLoadsNoneOfTheDaemonsAssemblies()
    {
        using var temp = new TempDirectory();
        string socket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--qmp", $"unix:{socket},server=on,wait=off");
        vm.WaitFor(ReferenceGuest.Prompt);
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(socket);

        JsonNode memory = qmp.Run("x-vessel-query-memory", new JsonObject { ["collect"] = true });

        JsonNode gc = memory["gc"]!;
        Assert.True(gc["heap-size-mib"]!.GetValue<double>() > 0);
        Assert.True(gc["committed-mib"]!.GetValue<double>() >= gc["heap-size-mib"]!.GetValue<double>());
        Assert.False(gc["server"]!.GetValue<bool>());

        // The boot ran code from many pages, but only from some of each page's chunks.
        JsonNode decode = memory["decode-cache"]!;
        int pages = decode["pages"]!.GetValue<int>();
        int chunks = decode["chunks"]!.GetValue<int>();
        Assert.True(pages > 10, $"{pages} code pages");
        Assert.InRange(chunks, pages, (pages * 32) - 1);
        Assert.True(memory["translator"]!["first-tier-blocks"]!.GetValue<long>() > 0);

        string[] assemblies = memory["assemblies"]!.AsArray().Select(a => a!.GetValue<string>()).ToArray();
        Assert.Contains("Vessel.Cpu.Riscv", assemblies);
        Assert.DoesNotContain(assemblies, a => a.StartsWith("Vessel.Server", StringComparison.Ordinal)
            || a.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || a.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal)
            || a.StartsWith("Npgsql", StringComparison.Ordinal));

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }
}
