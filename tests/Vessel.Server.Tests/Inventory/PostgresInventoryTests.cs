using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using Vessel.Server.Api;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Hosting;
using Vessel.Server.Inventory;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Testing.Hosts;

namespace Vessel.Server.Tests.Inventory;

/// <summary>
/// The inventory in PostgreSQL (<c>vessel serve --database postgres://...</c>) beside SQLite: the
/// same storage semantics through the API on both (list filters, order, paging, ETags, the
/// audit chain), the copy of a SQLite inventory (<c>--migrate-database-from</c>), and the start
/// errors. The PostgreSQL server is Debian's, started for this class (<see cref="PostgresServer"/>).
/// </summary>
public sealed class PostgresInventoryTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Sqlite = "sqlite";
    private const string Postgres = "postgres";

    [Fact]
    public void EachProviderHasMigrationsForTheWholeModel()
    {
        // A model change needs a migration for each provider: a forgotten one fails here, not at a user's start.
        using var temp = new TempDirectory();
        using InventoryContext sqlite = InventoryConnection.Sqlite(temp.File("vessel.db")).CreateContext();
        using InventoryContext postgresContext = InventoryConnection.Postgres("postgres://nobody@127.0.0.1:1/none").CreateContext();
        Assert.IsType<PostgresInventoryContext>(postgresContext);
        Assert.False(sqlite.Database.HasPendingModelChanges(), "the SQLite migrations lag behind the model: add one (dotnet ef migrations add NAME --context InventoryContext --output-dir Inventory/Migrations/Sqlite)");
        Assert.False(postgresContext.Database.HasPendingModelChanges(), "the PostgreSQL migrations lag behind the model: add one (dotnet ef migrations add NAME --context PostgresInventoryContext --output-dir Inventory/Migrations/Postgres)");
        Assert.Equal(
            sqlite.Model.GetEntityTypes().Select(t => t.GetTableName()).Order(StringComparer.Ordinal),
            postgresContext.Model.GetEntityTypes().Select(t => t.GetTableName()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("mysql://root:Secret-42@db.example/vessel")]
    [InlineData("postgres://db.example/vessel")]
    [InlineData("postgres://root:Secret-42@db.example/")]
    [InlineData("postgres://root:Secret-42@db.example/vessel?sslmode=sometimes")]
    [InlineData("Host=db.example;Password=Secret-42")]
    public void AUrlThatIsNotAPostgresUrlStopsTheStartWithOneSentence(string url)
    {
        string error = StartError(url);
        Assert.DoesNotContain("Secret-42", error, StringComparison.Ordinal);
        Assert.Contains("--database", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerThatCannotBeReachedEndsVesselServeWithOneSentenceAndExitCodeOne()
    {
        // As a user runs it, the URL in VESSEL_DATABASE (which keeps the password out of ps).
        int port = ClosedPort();
        using var temp = new TempDirectory();
        (int exitCode, string error) = await ServeAsync(temp.File("data"), new Dictionary<string, string> { ["VESSEL_DATABASE"] = $"postgres://vessel:Secret-42@127.0.0.1:{port}/inventory" });
        Assert.Equal(1, exitCode);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("vessel: ", line, StringComparison.Ordinal);
        Http.AssertOneSentence(line["vessel: ".Length..]);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("cannot be reached", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Secret-42", error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void AWrongPasswordStopsTheStartWithOneSentenceThatDoesNotHoldIt()
    {
        string url = postgres.NewDatabase();
        string wrong = url.Replace(postgres.Server.Password, "Wrong-Secret-42", StringComparison.Ordinal);
        string error = StartError(wrong);
        Assert.Contains("refused the user name or password", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Wrong-Secret-42", error, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(Sqlite)]
    [InlineData(Postgres)]
    public async Task ListsFilterSortAndPageTheSameOnBothProviders(string provider)
    {
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(database: DatabaseFor(provider));
        using VesselClient client = daemon.Typed();
        string[] names = ["web-1", "Web-2", "db", "WEB3", "backup-web", "a-web", "Zeta", "alpha"];
        foreach (string name in names)
        {
            string[] tags = name.Contains("web", StringComparison.OrdinalIgnoreCase) ? ["frontend"] : ["backend", "frontend-ish"];
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = name, Kernel = TestFiles.Kernel, Nics = [], Tags = tags }));
        }

        // The name filter is a substring, case-sensitive on both (SQLite's instr, PostgreSQL's strpos).
        Page<VmSummary> web = await client.ListVmsAsync(name: "web");
        Assert.Equal(names.Where(n => n.Contains("web", StringComparison.Ordinal)).Order(StringComparer.Ordinal), web.Items.Select(v => v.Name));
        Assert.Equal(web.Items.Count, web.Total);

        // Names sort bytewise (upper case first) on both, whatever the server's locale.
        Page<VmSummary> all = await client.ListVmsAsync();
        Assert.Equal(names.Order(StringComparer.Ordinal), all.Items.Select(v => v.Name));
        Page<VmSummary> descending = await client.ListVmsAsync(sort: "-name");
        Assert.Equal(names.OrderDescending(StringComparer.Ordinal), descending.Items.Select(v => v.Name));

        // Paging: page 2 of 3 is the 4th to 6th of the order; the total is all of them.
        Page<VmSummary> second = await client.ListVmsAsync(page: 2, pageSize: 3);
        Assert.Equal(names.Order(StringComparer.Ordinal).Skip(3).Take(3), second.Items.Select(v => v.Name));
        Assert.Equal(names.Length, second.Total);

        // A tag filter is a whole tag, not a prefix of another.
        Page<VmSummary> frontend = await client.ListVmsAsync(tags: ["frontend"]);
        Assert.Equal(names.Where(n => n.Contains("web", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal), frontend.Items.Select(v => v.Name));

        // Creation times come back as UTC, in creation order.
        Page<VmSummary> created = await client.ListVmsAsync(sort: "created");
        Assert.Equal(names, created.Items.Select(v => v.Name));
        Assert.All(created.Items, v => Assert.Equal(DateTimeKind.Utc, v.CreatedAt.Kind));

        // ETags: an edit with the current one passes and changes it; the old one is then refused.
        (VmDetails _, string? etag) = await client.GetVmWithETagAsync("db");
        Assert.NotNull(etag);
        await client.EditVmAsync("db", new VmEditRequest { Description = "the database" }, etag);
        (VmDetails edited, string? newEtag) = await client.GetVmWithETagAsync("db");
        Assert.Equal("the database", edited.Description);
        Assert.NotEqual(etag, newEtag);
        VesselApiException stale = await Assert.ThrowsAsync<VesselApiException>(() => client.EditVmAsync("db", new VmEditRequest { Description = "lost update" }, etag));
        Assert.Equal(412, stale.Status);
        Assert.Equal("the database", (await client.GetVmAsync("db")).Description);

        // The audit chain that all this wrote verifies.
        AuditVerification verification = await client.VerifyAuditAsync();
        Assert.True(verification.Ok, verification.FirstBroken?.Reason);
        Assert.True(verification.Entries >= names.Length + 2, $"{verification.Entries} entries");
    }

    [SkippableTheory]
    [InlineData(Sqlite)]
    [InlineData(Postgres)]
    public async Task AuditTimeFiltersAndRetentionWorkAlikeOnBothProviders(string provider)
    {
        // The audit's times are ticks on PostgreSQL (the hash covers them to the tick): the
        // comparisons of the time filters and of retention must still be comparisons of times.
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(time: clock, database: DatabaseFor(provider));
        using VesselClient client = daemon.Typed();
        await client.CreateUserAsync(new UserCreateRequest("early@vessel", "a-long-password-1"));
        DateTimeOffset between = clock.GetUtcNow() + TimeSpan.FromDays(20);
        clock.Advance(TimeSpan.FromDays(40) + TimeSpan.FromTicks(3));
        await client.CreateUserAsync(new UserCreateRequest("later@vessel", "a-long-password-2"));

        List<AuditEntryInfo> before = (await client.ListAuditAsync(new AuditQuery(To: between), 1, 1000)).Items.ToList();
        List<AuditEntryInfo> after = (await client.ListAuditAsync(new AuditQuery(From: between), 1, 1000)).Items.ToList();
        Assert.Contains(before, e => e.Object.Contains("early@vessel", StringComparison.Ordinal));
        Assert.DoesNotContain(before, e => e.Object.Contains("later@vessel", StringComparison.Ordinal));
        Assert.Contains(after, e => e.Object.Contains("later@vessel", StringComparison.Ordinal));
        Assert.All(after, e => Assert.True(e.Time >= between.UtcDateTime, $"{e.Time:o} is before {between:o}"));

        // Thirty days' retention removes the first day's entries, and the chain verifies from its checkpoint.
        await client.SetAuditSettingsAsync(new AuditSettings(30));
        List<AuditEntryInfo> kept = (await client.ListAuditAsync(new AuditQuery(), 1, 1000)).Items.ToList();
        Assert.DoesNotContain(kept, e => e.Object.Contains("early@vessel", StringComparison.Ordinal));
        Assert.Contains(kept, e => e.Object.Contains("later@vessel", StringComparison.Ordinal));
        AuditVerification verification = await client.VerifyAuditAsync();
        Assert.True(verification.Ok, verification.FirstBroken?.Reason);
        Assert.True(verification.CheckpointSequence > 0);
        Assert.Equal(kept.Min(e => e.Sequence), verification.CheckpointSequence + 1);
    }

    [SkippableFact]
    public async Task ASqliteInventoryIsCopiedIntoPostgresWithItsIdsUsersAndAuditChain()
    {
        string url = postgres.NewDatabase();
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        List<VmSummary> vms;
        List<UserInfo> users;
        List<AuditEntryInfo> audit;
        VmDetails tagged;
        await using (InProcessDaemon single = await InProcessDaemon.StartAsync(dataDirectory: dataDirectory))
        {
            using VesselClient client = single.Typed();
            foreach (string name in new[] { "alpha", "Beta", "gamma" })
            {
                await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = name, Kernel = TestFiles.Kernel, Nics = [], Tags = [name.ToLowerInvariant(), "copied"] }));
            }

            await client.EditVmAsync("gamma", new VmEditRequest { Description = "edited before the copy" });
            await client.CreateUserAsync(new UserCreateRequest("operator@vessel", "a-long-password-1", "copied along"));
            vms = [.. (await client.ListVmsAsync()).Items];
            users = [.. await client.ListUsersAsync()];
            tagged = await client.GetVmAsync("gamma");
            audit = (await client.ListAuditAsync(new AuditQuery(), 1, 1000)).Items.OrderBy(e => e.Sequence).ToList();
        }

        await using (InProcessDaemon many = await InProcessDaemon.StartAsync(dataDirectory: dataDirectory, database: url, migrateFrom: Path.Combine(dataDirectory, "vessel.db")))
        {
            using VesselClient client = many.Typed();
            Assert.IsType<PostgresInventoryContext>(many.Services.CreateScope().ServiceProvider.GetService(typeof(InventoryContext)));
            Assert.Equal(vms.Select(v => (v.Id, v.Name, Microseconds(v.CreatedAt))), (await client.ListVmsAsync()).Items.Select(v => (v.Id, v.Name, Microseconds(v.CreatedAt))));
            Assert.Equal(users, await client.ListUsersAsync(), new UserComparer());
            (VmDetails copied, string? etag) = await client.GetVmWithETagAsync("gamma");
            Assert.Equal((tagged.Id, tagged.Description, string.Join(",", tagged.Tags)), (copied.Id, copied.Description, string.Join(",", copied.Tags)));
            Assert.NotNull(etag);

            // Every entry as it was (the same sequence, time to the tick and hashes), and the chain verifies.
            List<AuditEntryInfo> copiedAudit = (await client.ListAuditAsync(new AuditQuery(), 1, 1000)).Items.OrderBy(e => e.Sequence).ToList();
            Assert.Equal(audit.Select(e => (e.Sequence, e.Time, e.Action, e.Object, e.Hash)), copiedAudit.Take(audit.Count).Select(e => (e.Sequence, e.Time, e.Action, e.Object, e.Hash)));
            AuditVerification verification = await client.VerifyAuditAsync();
            Assert.True(verification.Ok, verification.FirstBroken?.Reason);
            Assert.True(verification.Entries >= audit.Count);

            // The copy is a working inventory: the ETag still guards edits, new VMs join.
            await client.EditVmAsync("gamma", new VmEditRequest { Description = "edited after" }, etag);
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "delta", Kernel = TestFiles.Kernel, Nics = [] }));
            Assert.Equal(4, (await client.ListVmsAsync()).Total);
        }

        // Copied once: a second copy into the now-used database is refused, and it is left as it is.
        string error = StartError(url, Path.Combine(dataDirectory, "vessel.db"), temp.File("other"));
        Assert.Contains("already holds an inventory", error, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Server.Password, error, StringComparison.Ordinal);
        await using (InProcessDaemon again = await InProcessDaemon.StartAsync(dataDirectory: dataDirectory, database: url))
        {
            using VesselClient client = again.Typed();
            Assert.Equal(new[] { "alpha", "Beta", "delta", "gamma" }.Order(StringComparer.Ordinal), (await client.ListVmsAsync()).Items.Select(v => v.Name));
            Assert.True((await client.VerifyAuditAsync()).Ok);
        }
    }

    [Fact]
    public void MigratingWithoutAPostgresDatabaseIsRefused()
    {
        using var temp = new TempDirectory();
        string error = StartError(null, temp.File("vessel.db"), temp.File("data"));
        Assert.Contains("--database", error, StringComparison.Ordinal);
    }

    private string? DatabaseFor(string provider) => provider == Postgres ? postgres.NewDatabase() : null;

    /// <summary>Builds the daemon as <c>vessel serve</c> does, in process, and returns the sentence its start fails with.</summary>
    private static string StartError(string? database, string? migrateFrom = null, string? dataDirectory = null)
    {
        using var temp = new TempDirectory();
        ServerStartException refused = Assert.Throws<ServerStartException>(() =>
        {
            using WebApplication app = ServerApplication.Build([], builder =>
            {
                builder.Configuration["Vessel:DataDirectory"] = dataDirectory ?? temp.File("data");
                builder.Configuration["Vessel:DefaultTemplate"] = "false";
                builder.Configuration["Vessel:VesselAssembly"] = TestFiles.VesselAssembly;
                builder.Configuration["Vessel:Database"] = database;
                builder.Configuration["Vessel:MigrateDatabaseFrom"] = migrateFrom;
            });
        });
        string sentence = Sentences.Of(refused.Message);
        Http.AssertOneSentence(sentence);
        return sentence;
    }

    /// <summary>Runs <c>vessel serve</c> as a user does, with <paramref name="environment"/>; returns its exit code and stderr once it ends (it must, within minutes).</summary>
    private static async Task<(int ExitCode, string Error)> ServeAsync(string dataDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { TestFiles.VesselAssembly, "serve", "--data-dir", dataDirectory, "--no-default-template", "--listen", "none" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await output;
        return (process.ExitCode, await error);
    }

    /// <summary>Microseconds: what a timestamptz keeps of a time (the audit's times keep their ticks).</summary>
    private static long Microseconds(DateTime time) => time.Ticks / 10;

    /// <summary>A port of 127.0.0.1 where nothing listens (bound a moment ago, then closed).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class UserComparer : IEqualityComparer<UserInfo>
    {
        public bool Equals(UserInfo? x, UserInfo? y) =>
            x is not null && y is not null && (x.Name, x.Realm, x.Enabled, x.Comment, Microseconds(x.CreatedAt), string.Join(',', x.Groups)) == (y.Name, y.Realm, y.Enabled, y.Comment, Microseconds(y.CreatedAt), string.Join(',', y.Groups));

        public int GetHashCode(UserInfo user) => user.Name.GetHashCode(StringComparison.Ordinal);
    }
}
