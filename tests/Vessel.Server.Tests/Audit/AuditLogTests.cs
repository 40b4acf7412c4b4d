using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Audit;
using Vessel.Server.Tests.Infrastructure;
using static Vessel.Server.Tests.Audit.AuditTestSupport;

namespace Vessel.Server.Tests.Audit;

/// <summary>
/// The audit log in-process: what is recorded (changes and logins, never reads), who, from where,
/// on what, with which result; the hash chain catching an altered or removed entry; retention
/// keeping the chain verifiable; exports that carry hostile names intact and inert.
/// </summary>
public sealed class AuditLogTests
{
    [Fact]
    public async Task ChangesAreRecordedWithWhoWhatObjectAndResultButReadsAreNot()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync();
        using VesselClient client = daemon.Typed();
        HttpClient http = daemon.Http();

        NetworkInfo network = await client.CreateNetworkAsync(new NetworkCreateRequest("lab", "isolated", null));
        await client.ListNetworksAsync();
        await client.GetServerInfoAsync();
        HttpResponseMessage missing = await http.DeleteAsync("/api/v1/vms/ghost");
        string missingDetail = (await Infrastructure.Http.ProblemAsync(missing, 404))["detail"]!.GetValue<string>();
        await client.DeleteNetworkAsync(network.Name);

        List<AuditEntryInfo> entries = await AllAsync(client);
        Assert.Equal(["network.create", "vm.delete", "network.delete"], entries.Select(e => e.Action));
        Assert.Equal([1L, 2L, 3L], entries.Select(e => e.Sequence));
        Assert.All(entries, e => Assert.Equal("root@pam", e.User));
        Assert.All(entries, e => Assert.Equal("unix", e.Source));
        Assert.Equal(["network:lab", "vm:ghost", "network:lab"], entries.Select(e => e.Object));
        Assert.Equal(404, entries[1].Status);
        Assert.Equal(missingDetail, entries[1].Detail);
        Assert.True(entries[0].Status is >= 200 and < 300 && entries[0].Detail is null);
        // Times follow the sequence, and each entry names its predecessor's hash.
        Assert.True(entries[0].Time <= entries[1].Time && entries[1].Time <= entries[2].Time);
        Assert.Equal(entries[0].Hash, entries[1].PreviousHash);
        Assert.Equal(new string('0', 64), entries[0].PreviousHash);

        // The filters.
        Assert.Equal([2L], (await client.ListAuditAsync(new AuditQuery(Result: "failure"))).Items.Select(e => e.Sequence));
        Assert.Equal([3L, 1L], (await client.ListAuditAsync(new AuditQuery(Action: "network"))).Items.Select(e => e.Sequence));
        Assert.Equal([2L], (await client.ListAuditAsync(new AuditQuery(Object: "ghost"))).Items.Select(e => e.Sequence));
        Assert.Empty((await client.ListAuditAsync(new AuditQuery(User: "alice@vessel"))).Items);
        Assert.Empty((await client.ListAuditAsync(new AuditQuery(From: entries[2].Time.AddSeconds(1)))).Items);
    }

    [Fact]
    public async Task LoginsAreRecordedUnderTheTriedNameWithTheirResultAndNeverTheirPassword()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(map: MapTestLogin);
        using VesselClient client = daemon.Typed();
        HttpClient http = daemon.Http();

        // From an address on the network (the test server's requests have none, as the Unix socket's).
        using var request = new HttpRequestMessage(HttpMethod.Post, TestLoginPath) { Content = JsonContent.Create(new LoginBody("mallory@vessel", "hunter2-secret")) };
        request.Headers.Add(RemoteAddressHeader, "192.0.2.7");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(http, "alice@vessel", "right")).StatusCode);

        List<AuditEntryInfo> entries = await AllAsync(client);
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal("access.login", e.Action));
        Assert.Equal(("mallory@vessel", "192.0.2.7", 401), (entries[0].User, entries[0].Source, entries[0].Status));
        Assert.Equal("The user name or password is wrong.", entries[0].Detail);
        Assert.Equal(("alice@vessel", 200), (entries[1].User, entries[1].Status));
        string everything = JsonSerializer.Serialize(entries);
        Assert.DoesNotContain("hunter2", everything);
        Assert.DoesNotContain("right", everything);
    }

    [Fact]
    public async Task TheRealLoginRouteIsRecordedWhenItExists()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync();
        bool exists = daemon.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Any(e => e.RoutePattern.RawText?.TrimEnd('/') == "/api/v1/access/login");
        HttpResponseMessage response = await daemon.Http().PostAsJsonAsync("/api/v1/access/login", new { username = "nobody@vessel", password = "wrong" });
        Assert.True((int)response.StatusCode >= 400);

        AuditEntryInfo entry = Assert.Single(await AllAsync(daemon.Typed()));
        Assert.Equal((int)response.StatusCode, entry.Status);
        // With the access control's login: under the tried name. Without it (this branch alone), the
        // request still is a change attempt on record, under the caller's name.
        Assert.Equal(exists ? ("access.login", "nobody@vessel") : ("request.post", "root@pam"), (entry.Action, entry.User));
    }

    [Fact]
    public async Task ActionNamesFollowTheRoutes()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync();
        Dictionary<string, string> names = [];
        foreach (RouteEndpoint endpoint in daemon.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            foreach (string method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                names[$"{method} {endpoint.RoutePattern.RawText?.TrimEnd('/')}"] = AuditActions.NameOf(endpoint, method, webSocket: false);
            }
        }

        Assert.Equal("vm.create", names["POST /api/v1/vms"]);
        Assert.Equal("vm.start", names["POST /api/v1/vms/{vm}/start"]);
        Assert.Equal("vm.stop", names["POST /api/v1/vms/{vm}/stop"]);
        Assert.Equal("vm.edit", names["PATCH /api/v1/vms/{vm}"]);
        Assert.Equal("vm.delete", names["DELETE /api/v1/vms/{vm}"]);
        Assert.Equal("vm.clone", names["POST /api/v1/vms/{vm}/clone"]);
        Assert.Equal("snapshot.create", names["POST /api/v1/vms/{vm}/snapshots"]);
        Assert.Equal("snapshot.revert", names["POST /api/v1/vms/{vm}/snapshots/{snapshot}/revert"]);
        Assert.Equal("snapshot.delete", names["DELETE /api/v1/vms/{vm}/snapshots/{snapshot}"]);
        Assert.Equal("pool.create", names["POST /api/v1/pools"]);
        Assert.Equal("volume.delete", names["DELETE /api/v1/pools/{pool}/volumes/{volume}"]);
        Assert.Equal("license.install", names["PUT /api/v1/license"]);
        // Every changing endpoint gets a name of the form area.verb.
        Assert.All(names.Where(n => !n.Key.StartsWith("GET", StringComparison.Ordinal)), n => Assert.Matches(@"^[a-z-]+\.[a-z-]+$", n.Value));
    }

    [Fact]
    public async Task AnAlteredEntryIsFoundAndNamed()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(map: MapTestLogin);
        using VesselClient client = daemon.Typed();
        for (int i = 0; i < 5; i++)
        {
            await LoginAsync(daemon.Http(), $"user{i}@vessel", "wrong");
        }

        AuditVerification intact = await client.VerifyAuditAsync();
        Assert.True(intact.Ok);
        Assert.Equal(5, intact.Entries);

        // Someone with the database file rewrites who failed to log in.
        Assert.Equal(1, Sql(daemon.DatabasePath, "UPDATE AuditEntries SET User = 'admin@vessel' WHERE Sequence = 3"));
        AuditVerification tampered = await client.VerifyAuditAsync();
        Assert.False(tampered.Ok);
        Assert.Equal(3, tampered.FirstBroken!.Sequence);
        Assert.Contains("Entry 3 was altered", tampered.FirstBroken.Reason);
        Infrastructure.Http.AssertOneSentence(tampered.FirstBroken.Reason);

        // Recomputing that entry's hash moves the break to the next entry, which still names the old hash.
        Assert.Equal(1, Sql(daemon.DatabasePath, "UPDATE AuditEntries SET Hash = 'f00d' || substr(Hash, 5) WHERE Sequence = 3"));
        AuditVerification rehashed = await client.VerifyAuditAsync();
        Assert.False(rehashed.Ok);
        Assert.Equal(3, rehashed.FirstBroken!.Sequence);
    }

    [Fact]
    public async Task AnEntryRemovedFromTheMiddleOrTheEndIsFound()
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(map: MapTestLogin);
        using VesselClient client = daemon.Typed();
        for (int i = 0; i < 6; i++)
        {
            await LoginAsync(daemon.Http(), $"user{i}@vessel", "wrong");
        }

        Assert.Equal(1, Sql(daemon.DatabasePath, "DELETE FROM AuditEntries WHERE Sequence = 4"));
        AuditVerification middle = await client.VerifyAuditAsync();
        Assert.False(middle.Ok);
        Assert.Equal(4, middle.FirstBroken!.Sequence);
        Assert.Equal("Entry 4 is missing: the log goes from entry 3 to entry 5.", middle.FirstBroken.Reason);
        Assert.Equal(3, middle.Entries);

        await using InProcessDaemon other = await InProcessDaemon.StartAsync(map: MapTestLogin);
        for (int i = 0; i < 3; i++)
        {
            await LoginAsync(other.Http(), $"user{i}@vessel", "wrong");
        }

        Assert.Equal(1, Sql(other.DatabasePath, "DELETE FROM AuditEntries WHERE Sequence = 3"));
        AuditVerification end = await other.Typed().VerifyAuditAsync();
        Assert.False(end.Ok);
        Assert.Equal(3, end.FirstBroken!.Sequence);
    }

    [Fact]
    public async Task RetentionRemovesOldEntriesAndTheChainStillVerifiesFromItsCheckpoint()
    {
        var clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(time: clock, map: MapTestLogin);
        using VesselClient client = daemon.Typed();
        for (int i = 0; i < 4; i++)
        {
            await LoginAsync(daemon.Http(), $"old{i}@vessel", "wrong");
        }

        clock.Advance(TimeSpan.FromDays(10));
        for (int i = 0; i < 3; i++)
        {
            await LoginAsync(daemon.Http(), $"new{i}@vessel", "wrong");
        }

        Assert.Equal(365, (await client.GetAuditSettingsAsync()).RetentionDays);
        Assert.Equal(7, (await client.SetAuditSettingsAsync(new AuditSettings(7))).RetentionDays);

        List<AuditEntryInfo> kept = await AllAsync(client);
        Assert.Equal(["new0@vessel", "new1@vessel", "new2@vessel", "root@pam"], kept.Select(e => e.User));
        Assert.Equal("audit.settings", kept[^1].Action);
        AuditVerification verified = await client.VerifyAuditAsync();
        Assert.True(verified.Ok, verified.FirstBroken?.Reason);
        Assert.Equal(4, verified.CheckpointSequence);
        Assert.Equal(4, verified.Entries);

        // The first kept entry is checked against the checkpoint's hash.
        Sql(daemon.DatabasePath, "UPDATE AuditEntries SET PreviousHash = Hash WHERE Sequence = 5");
        AuditVerification broken = await client.VerifyAuditAsync();
        Assert.Equal(5, broken.FirstBroken?.Sequence);

        HttpResponseMessage refused = await daemon.Http().PutAsJsonAsync("/api/v1/audit/settings", new AuditSettings(0));
        await Infrastructure.Http.ProblemAsync(refused, 400);
    }

    [Fact]
    public async Task ExportsCarryHostileNamesIntactAndCsvCannotStartAFormula()
    {
        string[] hostile =
        [
            "=HYPERLINK(\"http://evil.example/\",\"click\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "'quoted already",
            "comma, \"quote\" and\r\nline break",
            "\ttab first",
            "plain@vessel",
        ];
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(map: MapTestLogin);
        using VesselClient client = daemon.Typed();
        foreach (string name in hostile)
        {
            await LoginAsync(daemon.Http(), name, "wrong");
        }

        List<AuditEntryInfo> listed = await AllAsync(client);
        Assert.Equal(hostile, listed.Select(e => e.User));

        using var json = new MemoryStream();
        await client.ExportAuditAsync("json", new AuditQuery(Action: "access.login"), json);
        List<AuditEntryInfo> fromJson = JsonSerializer.Deserialize<List<AuditEntryInfo>>(json.ToArray(), VesselClient.JsonOptions)!;
        Assert.Equal(listed, fromJson);

        using var csv = new MemoryStream();
        await client.ExportAuditAsync("csv", new AuditQuery(Action: "access.login"), csv);
        List<List<string>> rows = ReadCsv(System.Text.Encoding.UTF8.GetString(csv.ToArray()));
        Assert.Equal(AuditCsv.Header, rows[0]);
        Assert.Equal(hostile.Length + 1, rows.Count);
        int userColumn = Array.IndexOf(AuditCsv.Header, "user");
        foreach (List<string> row in rows.Skip(1))
        {
            Assert.Equal(AuditCsv.Header.Length, row.Count);
            // Nothing a spreadsheet would take for a formula.
            Assert.All(row, field => Assert.False(field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r', field));
        }

        // Dropping the one leading apostrophe gives every name back exactly.
        Assert.Equal(hostile, rows.Skip(1).Select(r => r[userColumn].StartsWith('\'') ? r[userColumn][1..] : r[userColumn]));
        Assert.Equal(listed.Select(e => e.Hash), rows.Skip(1).Select(r => r[^1]));

        HttpResponseMessage badFormat = await daemon.Http().GetAsync("/api/v1/audit/export?format=xml");
        await Infrastructure.Http.ProblemAsync(badFormat, 400);
    }
}
