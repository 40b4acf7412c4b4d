using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Nodes;
using Vessel.Cpu.Riscv;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Cpu.Riscv.Jit;
using static Vessel.Vmm.Qmp.QmpParameter;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// <c>x-vessel-query-memory</c>: where the VMM process's own memory goes, as the .NET runtime
/// and the translator see it (the GC heap per generation, what it committed, the decode cache,
/// translations, loaded assemblies, threads), to set beside <c>/proc/PID/smaps</c>. With
/// <c>collect: true</c> a full compacting collection runs first, so that what is reported is
/// what is live rather than what the last collection left behind.
/// </summary>
internal static class QmpDiagnosticCommands
{
    private const double MiB = 1024 * 1024;

    public static void Register(QmpCommandTable table) =>
        table.Add("x-vessel-query-memory", [Optional("collect", QmpType.Boolean)], QueryMemory);

    private static JsonNode QueryMemory(QmpCommandContext context, QmpArguments arguments)
    {
        if (arguments.GetBoolean("collect", false))
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        GCMemoryInfo gc = GC.GetGCMemoryInfo(GCKind.Any);
        var generations = new JsonArray();
        string[] names = ["gen0", "gen1", "gen2", "loh", "poh"];
        for (int i = 0; i < gc.GenerationInfo.Length && i < names.Length; i++)
        {
            generations.Add(new JsonObject
            {
                ["generation"] = names[i],
                ["size-mib"] = Round(gc.GenerationInfo[i].SizeAfterBytes),
                ["fragmentation-mib"] = Round(gc.GenerationInfo[i].FragmentationAfterBytes),
            });
        }

        RiscvProcessor processor = context.Vm.Machine.Processor;
        TranslatorStatistics? translator = processor.TranslatorStatistics;
        using Process self = Process.GetCurrentProcess();
        return new JsonObject
        {
            ["gc"] = new JsonObject
            {
                ["server"] = GCSettings.IsServerGC,
                ["latency-mode"] = GCSettings.LatencyMode.ToString(),
                ["heap-size-mib"] = Round(gc.HeapSizeBytes),
                ["committed-mib"] = Round(gc.TotalCommittedBytes),
                ["fragmented-mib"] = Round(gc.FragmentedBytes),
                ["total-available-mib"] = Round(gc.TotalAvailableMemoryBytes),
                ["collections"] = new JsonArray(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)),
                ["allocated-mib"] = Round(GC.GetTotalAllocatedBytes()),
                ["generations"] = generations,
            },
            ["decode-cache"] = new JsonObject
            {
                ["pages"] = processor.DecodeCache.PageCount,
                ["chunks"] = processor.DecodeCache.ChunkCount,
                ["mib"] = Round((long)processor.DecodeCache.ChunkCount * DecodeCache.BytesPerChunk),
            },
            ["translator"] = translator is null ? null : new JsonObject
            {
                ["first-tier-blocks"] = translator.FirstTierBlocks,
                ["first-tier-instructions"] = translator.FirstTierInstructions,
                ["optimised-blocks"] = translator.BlocksTranslated,
                ["il-bytes"] = translator.IlBytes,
            },
            ["jit"] = new JsonObject
            {
                ["methods-compiled"] = System.Runtime.JitInfo.GetCompiledMethodCount(),
                ["il-bytes-compiled"] = System.Runtime.JitInfo.GetCompiledILBytes(),
            },
            ["assemblies"] = new JsonArray(AppDomain.CurrentDomain.GetAssemblies()
                .Select(a => a.GetName().Name ?? "?").Order(StringComparer.Ordinal).Select(name => (JsonNode?)JsonValue.Create(name)).ToArray()),
            ["threads"] = self.Threads.Count,
            ["working-set-mib"] = Round(self.WorkingSet64),
        };
    }

    private static double Round(long bytes) => Math.Round(bytes / MiB, 2);
}
