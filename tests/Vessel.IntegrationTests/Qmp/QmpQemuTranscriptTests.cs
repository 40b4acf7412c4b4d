using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Qmp;

/// <summary>
/// QEMU is the oracle: one QMP transcript (negotiation, status, stop and cont, version, refused
/// commands and arguments, malformed input, HMP, balloon, harts, migration and job queries,
/// power-down, reset, quit) is sent to <c>qemu-system-riscv64</c> 7.2 and to Vessel, both running
/// the reference guest with a balloon, and every reply and event must have the same shape: the
/// same keys, the same JSON types, the same error classes, run states and event names, and for
/// a few replies (HMP output) the same text. Values that legitimately differ (version numbers,
/// timestamps, thread ids, how many harts or commands) are compared by type only.
/// </summary>
public sealed class QmpQemuTranscriptTests
{
    /// <summary>Members whose values must be equal, not just of the same type.</summary>
    private static readonly HashSet<string> s_comparedValues = ["class", "event", "status", "running", "singlestep", "guest", "reason", "target", "capabilities"];

    private static readonly Step[] s_transcript =
    [
        new("{\"execute\": \"query-status\"}"),
        new("{\"execute\": \"qmp_capabilities\", \"id\": \"negotiate\"}"),
        new("{\"execute\": \"qmp_capabilities\"}"),
        new("{\"execute\": \"query-status\"}"),
        new("{\"execute\": \"stop\"}", "STOP"),
        new("{\"execute\": \"query-status\"}"),
        new("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info status\"}}") { Exact = true },
        new("{\"execute\": \"cont\", \"id\": 2}", "RESUME"),
        new("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info status\"}}") { Exact = true },
        new("{\"execute\": \"query-version\"}"),
        new("{\"execute\": \"query-commands\"}"),
        new("{\"execute\": \"query-name\"}"),
        new("{\"execute\": \"no-such-command\", \"id\": [7]}"),
        new("{\"execute\": \"stop\", \"arguments\": {\"bogus\": 1}}"),
        new("{\"execute\": \"balloon\"}"),
        new("{\"execute\": \"balloon\", \"arguments\": {\"value\": \"lots\"}}"),
        new("[1, 2]"),
        new("garbage"),
        new("{\"id\": 1}"),
        new("{\"execute\": \"query-status\", \"extra\": 1}"),
        new("{\"execute\": \"query-status\", \"arguments\": []}"),
        new("{\"execute\": \"query-status\", \"id\": 1, \"id\": 2}"),
        new("{'execute': 'query-status', 'id': 'single-quoted'}"),
        new("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"bogus\"}}") { Exact = true },
        new("{\"execute\": \"human-monitor-command\"}"),
        new("{\"execute\": \"query-balloon\"}"),
        new("{\"execute\": \"query-cpus-fast\"}"),
        new("{\"execute\": \"query-migrate\"}"),
        new("{\"execute\": \"migrate_cancel\"}"),
        new("{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": 500}}"),
        new("{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": -1}}"),
        new("{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"exec:true\"}}"),
        new("{\"execute\": \"query-jobs\"}"),
        new("{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"nope\"}}"),
        new("{\"execute\": \"system_powerdown\"}", "POWERDOWN"),
        new("{\"execute\": \"system_reset\"}", "RESET"),
        new("{\"execute\": \"quit\"}", "SHUTDOWN"),
    ];

    [QemuFact]
    public void TheSameTranscriptGetsRepliesAndEventsOfTheSameShape()
    {
        using var temp = new TempDirectory();
        string qemuSocket = temp.File("qemu.sock");
        string vesselSocket = temp.File("vessel.sock");

        using Process qemu = StartQemu(qemuSocket, temp.File("qemu-console.txt"));
        List<string> qemuTranscript;
        try
        {
            qemuTranscript = Play(qemuSocket);
        }
        finally
        {
            if (!qemu.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                qemu.Kill();
            }
        }

        using VesselProcess vessel = ReferenceGuest.StartInitramfs(
            "--device", "virtio-balloon", "--serial", $"file:{temp.File("vessel-console.txt")}", "--qmp", $"unix:{vesselSocket},server=on,wait=off");
        List<string> vesselTranscript = Play(vesselSocket);
        Assert.Equal(0, vessel.WaitForExit());

        Assert.Equal(qemuTranscript.Count, vesselTranscript.Count);
        for (int i = 0; i < qemuTranscript.Count; i++)
        {
            Assert.True(
                qemuTranscript[i] == vesselTranscript[i],
                $"step {i} differs:\nQEMU:   {qemuTranscript[i]}\nVessel: {vesselTranscript[i]}");
        }
    }

    /// <summary>Sends the transcript and returns one normalised line per message received (greeting, replies, events).</summary>
    private static List<string> Play(string socket)
    {
        var lines = new List<string>();
        using QmpClient client = QmpClient.Connect(socket);
        lines.Add("greeting " + Shape(client.Greeting, null));
        foreach (Step step in s_transcript)
        {
            int eventsBefore = client.Events.Count;
            JsonObject reply = client.SendRaw(step.Request);
            lines.Add($"{step.Request} -> {(step.Exact ? reply.ToJsonString() : Shape(reply, null))}");
            foreach (string expected in step.Events)
            {
                client.WaitForEvent(expected, from: eventsBefore);
            }

            // Events may come before or after the reply (QEMU sends SHUTDOWN before quit's
            // reply, Vessel after): the step's events are compared as a set.
            IEnumerable<string> events = client.Events.Skip(eventsBefore)
                .Where(e => step.Events.Contains(e["event"]!.GetValue<string>()))
                .Select(e => "  event " + Shape(e, null))
                .Order(StringComparer.Ordinal);
            lines.AddRange(events);
        }

        client.WaitForEndOfStream();
        return lines;
    }

    /// <summary>The JSON's shape: objects with sorted keys, arrays by their first element, scalars by type (or value, for <see cref="s_comparedValues"/>).</summary>
    private static string Shape(JsonNode? node, string? member)
    {
        switch (node)
        {
            case null:
                return "null";
            case JsonObject obj:
                return "{" + string.Join(",", obj.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}:{Shape(p.Value, p.Key)}")) + "}";
            case JsonArray array:
                return member is not null && s_comparedValues.Contains(member)
                    ? array.ToJsonString()
                    : "[" + (array.Count == 0 ? string.Empty : Shape(array[0], member)) + "]";
            default:
                if (member is not null && s_comparedValues.Contains(member))
                {
                    return node.ToJsonString();
                }

                return node.GetValueKind() switch
                {
                    System.Text.Json.JsonValueKind.String => "string",
                    System.Text.Json.JsonValueKind.Number => "number",
                    System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
                    _ => node.ToJsonString(),
                };
        }
    }

    private static Process StartQemu(string socket, string console)
    {
        var start = new ProcessStartInfo("qemu-system-riscv64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[]
        {
            "-M", "virt", "-m", "256M", "-smp", "1", "-display", "none", "-monitor", "none",
            "-kernel", TestPaths.GuestKernel, "-initrd", TestPaths.GuestInitrd, "-append", ReferenceGuest.InitramfsCommandLine,
            "-device", "virtio-balloon-device", "-serial", $"file:{console}", "-qmp", $"unix:{socket},server=on,wait=off",
        })
        {
            start.ArgumentList.Add(argument);
        }

        Process qemu = Process.Start(start)!;
        var error = new StringBuilder();
        qemu.ErrorDataReceived += (_, e) => error.Append(e.Data);
        qemu.OutputDataReceived += (_, _) => { };
        qemu.BeginErrorReadLine();
        qemu.BeginOutputReadLine();
        return qemu;
    }

    /// <summary>One request of the transcript and the events it must cause.</summary>
    private sealed class Step(string request, params string[] events)
    {
        /// <summary>What is sent, as it is.</summary>
        public string Request { get; } = request;

        public string[] Events { get; } = events;

        /// <summary>Compare the reply's text, not only its shape (HMP output).</summary>
        public bool Exact { get; init; }
    }
}
