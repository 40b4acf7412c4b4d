using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Licensing;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Licensing;

/// <summary>
/// Licences in the daemon with a clock the tests move: the 60-day evaluation, expiry (running VMs
/// run on, power-on is refused), capacity, editions' features, the 30-day warning, and installs
/// that refuse what is altered or not the vendor's. The tests sign with a key pair of their own.
/// </summary>
public sealed class LicenseTests : IDisposable
{
    private readonly ECDsa _vendor = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _vendor.Dispose();

    private string Issue(FakeTimeProvider clock, TimeSpan validFor, int? runningVms = null, int? vcpus = null, string[]? features = null, string edition = "standard") =>
        LicenseDocument.Sign(new License
        {
            Id = Guid.NewGuid().ToString(),
            Licensee = "ACME",
            Edition = edition,
            Capacity = new LicenseCapacity { RunningVms = runningVms, Vcpus = vcpus },
            Features = features ?? LicenseFeatures.All.ToArray(),
            NotBefore = clock.GetUtcNow().AddDays(-1),
            NotAfter = clock.GetUtcNow() + validFor,
        }, _vendor);

    private static async Task CreateVmAsync(HttpClient http, string name, int cpus = 1)
    {
        OperationInfo created = await Http.WaitAsync(http, await http.PostAsJsonAsync("/api/v1/vms?wait=60", new
        {
            name,
            kernel = TestFiles.Kernel,
            initrd = TestFiles.Initrd,
            append = TestFiles.CommandLine,
            cpus,
            memoryBytes = 128L << 20,
            nics = Array.Empty<object>(),
        }));
        Assert.Equal(OperationStatuses.Succeeded, created.Status);
    }

    private static async Task StartAsync(HttpClient http, string vm)
    {
        OperationInfo started = await Http.WaitAsync(http, await http.PostAsync($"/api/v1/vms/{vm}/start?wait=60", null));
        Assert.True(started.Status == OperationStatuses.Succeeded, started.Error);
    }

    private static async Task<string> RefusedAsync(HttpClient http, string path, int status = 409, object? body = null)
    {
        HttpResponseMessage response = body is null ? await http.PostAsync(path, null) : await http.PostAsJsonAsync(path, body);
        JsonObject problem = await Http.ProblemAsync(response, status);
        return problem["detail"]!.GetValue<string>();
    }

    private static async Task<string> StateAsync(HttpClient http, string vm) =>
        (await http.GetFromJsonAsync<JsonObject>($"/api/v1/vms/{vm}"))!["state"]!.GetValue<string>();

    [Fact]
    public async Task TheEvaluationRunsSixtyDaysFromTheFirstStartThenPowerOnIsRefused()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        using var data = new TempDirectory();
        await using (InProcessDaemon first = await InProcessDaemon.StartAsync(clock, _vendor, data.Path))
        {
            LicenseInfo evaluation = await first.Typed().GetLicenseAsync();
            Assert.Equal(("evaluation", 60, false), (evaluation.Mode, evaluation.DaysLeft, evaluation.Expired));
            Assert.Equal(LicenseFeatures.All, evaluation.Features);
            Assert.Null(evaluation.Capacity.RunningVms);
            Assert.Null(evaluation.Warning);
            await CreateVmAsync(first.Http(), "eval1", cpus: 8);
        }

        // A later start of the daemon does not start the evaluation again.
        clock.Advance(TimeSpan.FromDays(10));
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor, data.Path);
        HttpClient http = daemon.Http();
        Assert.Equal(50, (await daemon.Typed().GetLicenseAsync()).DaysLeft);

        clock.Advance(TimeSpan.FromDays(51));
        string refused = await RefusedAsync(http, "/api/v1/vms/eval1/start");
        Assert.Equal("The 60-day evaluation ended on 2027-04-30; running VMs keep running, but none can be powered on until a licence is installed (vessel license install FILE).", refused);
        Assert.Equal("stopped", await StateAsync(http, "eval1"));

        // A licence ends the refusal.
        await daemon.Typed().InstallLicenseAsync(Issue(clock, TimeSpan.FromDays(365)));
        await StartAsync(http, "eval1");
    }

    [Fact]
    public async Task AfterExpiryRunningVmsRunOnButNoneIsPoweredOn()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor);
        HttpClient http = daemon.Http();
        LicenseInfo installed = await daemon.Typed().InstallLicenseAsync(Issue(clock, TimeSpan.FromDays(100)));
        Assert.Equal(("licensed", "ACME", 100), (installed.Mode, installed.Licensee, installed.DaysLeft));
        await CreateVmAsync(http, "runs");
        await CreateVmAsync(http, "waits");
        await StartAsync(http, "runs");

        clock.Advance(TimeSpan.FromDays(101));
        Assert.True((await daemon.Typed().GetLicenseAsync()).Expired);
        Assert.Equal("The licence expired on 2027-06-09; running VMs keep running, but none can be powered on until a new licence is installed (vessel license install FILE).",
            await RefusedAsync(http, "/api/v1/vms/waits/start"));
        // A reboot would start a new VMM: refused before the guest is powered off.
        Assert.StartsWith("The licence expired on 2027-06-09", await RefusedAsync(http, "/api/v1/vms/runs/reboot"));
        Assert.Equal("running", await StateAsync(http, "runs"));
        Assert.Equal("stopped", await StateAsync(http, "waits"));

        // Stopping is never refused.
        OperationInfo stopped = await Http.WaitAsync(http, await http.PostAsync("/api/v1/vms/runs/stop?wait=60", null));
        Assert.Equal(OperationStatuses.Succeeded, stopped.Status);
    }

    [Fact]
    public async Task PowerOnBeyondCapacityIsRefusedNamingTheLimit()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor);
        HttpClient http = daemon.Http();
        await daemon.Typed().InstallLicenseAsync(Issue(clock, TimeSpan.FromDays(365), runningVms: 1, vcpus: 2));
        await CreateVmAsync(http, "big", cpus: 4);
        await CreateVmAsync(http, "first");
        await CreateVmAsync(http, "second");

        Assert.Equal("The licence allows 2 vCPUs in running VMs; 0 are in use and VM 'big' needs 4.", await RefusedAsync(http, "/api/v1/vms/big/start"));
        await StartAsync(http, "first");
        Assert.Equal("The licence allows 1 running VM; 1 is running, so VM 'second' cannot be powered on.", await RefusedAsync(http, "/api/v1/vms/second/start"));
        Assert.Equal("stopped", await StateAsync(http, "second"));

        // A clone that would start counts as a power-on too.
        Assert.StartsWith("The licence allows 1 running VM; 1 is running", await RefusedAsync(http, "/api/v1/vms/second/clone", body: new { name = "third", mode = "full", start = true }));
    }

    [Fact]
    public async Task AFeatureOutsideTheEditionIsRefusedNamingBoth()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor);
        HttpClient http = daemon.Http();
        await CreateVmAsync(http, "source");
        await daemon.Typed().InstallLicenseAsync(Issue(clock, TimeSpan.FromDays(365), features: [], edition: "essentials"));

        Assert.Equal("The essentials edition of the licence does not include instant-clone; a licence for an edition with it is needed.",
            await RefusedAsync(http, "/api/v1/vms/source/clone", body: new { name = "copy", mode = "instant" }));
        Assert.Empty((await daemon.Typed().GetLicenseAsync()).Features);
    }

    [Fact]
    public async Task FromThirtyDaysBeforeExpiryEveryResponseWarns()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor);
        using VesselClient client = daemon.Typed();
        HttpClient http = daemon.Http();
        await client.InstallLicenseAsync(Issue(clock, TimeSpan.FromDays(40)));

        Assert.False((await http.GetAsync("/api/v1/")).Headers.Contains("Warning"));
        Assert.Null((await client.GetLicenseAsync()).Warning);
        Assert.Null(client.LicenseWarning);

        clock.Advance(TimeSpan.FromDays(11));
        HttpResponseMessage response = await http.GetAsync("/api/v1/");
        const string expected = "The licence expires on 2027-04-10 (in 29 days); install a new licence with vessel license install FILE.";
        Assert.Equal($"299 vessel \"{expected}\"", Assert.Single(response.Headers.GetValues("Warning")));
        Assert.Equal(expected, (await client.GetLicenseAsync()).Warning);
        await client.ListVmsAsync();
        Assert.Equal(expected, client.LicenseWarning);
    }

    [Fact]
    public async Task AnAlteredForeignOrExpiredLicenceIsRefusedAtInstall()
    {
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, _vendor);
        HttpClient http = daemon.Http();
        string genuine = Issue(clock, TimeSpan.FromDays(365));
        int middle = genuine.IndexOf('.') / 2;
        string altered = genuine[..middle] + (genuine[middle] == 'A' ? 'B' : 'A') + genuine[(middle + 1)..];
        using var impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string foreign = LicenseDocument.Sign(LicenseDocumentTests.Sample(clock.GetUtcNow(), clock.GetUtcNow().AddDays(365)), impostor);

        foreach (string text in new[] { altered, foreign, "not a licence" })
        {
            JsonObject problem = await Http.ProblemAsync(await http.PutAsJsonAsync("/api/v1/license", new LicenseInstallRequest(text)), 400);
            Assert.Contains("licence", problem["detail"]!.GetValue<string>());
        }

        clock.Advance(TimeSpan.FromDays(400));
        JsonObject expired = await Http.ProblemAsync(await http.PutAsJsonAsync("/api/v1/license", new LicenseInstallRequest(genuine)), 400);
        Assert.EndsWith("expired on 2028-02-29; install a current one.", expired["detail"]!.GetValue<string>());
        Assert.Equal("evaluation", (await daemon.Typed().GetLicenseAsync()).Mode);
    }

    [Fact]
    public async Task TheVendorToolsLicenceInstallsAndRemoves()
    {
        using var temp = new TempDirectory();
        string tool = Path.Combine(AppContext.BaseDirectory, "vessel-license.dll");
        (int keygen, _, string keygenError) = await RunAsync(tool, "keygen", "--out", temp.File("vendor"));
        Assert.True(keygen == 0, keygenError);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp.File("vendor.pem")));
        (int issue, _, string issueError) = await RunAsync(tool, "issue", "--key", temp.File("vendor.pem"), "--licensee", "ACME Clouds", "--edition", "enterprise",
            "--hosts", "2", "--vcpus", "64", "--running-vms", "10", "--features", "instant-clone,live-migration",
            "--not-before", "2027-01-01", "--not-after", "2028-01-01", "-o", temp.File("acme.lic"));
        Assert.True(issue == 0, issueError);
        (int wrong, _, string wrongError) = await RunAsync(tool, "issue", "--key", temp.File("vendor.pem"), "--licensee", "x", "--edition", "e", "--features", "teleport", "--not-after", "2028-01-01");
        Assert.Equal(2, wrong);
        Assert.Contains("'teleport' is not a feature", wrongError);

        using ECDsa vendor = LicenseDocument.KeyFromPem(await File.ReadAllTextAsync(temp.File("vendor.pub.pem")), "key");
        FakeTimeProvider clock = InProcessDaemon.Clock();
        await using InProcessDaemon daemon = await InProcessDaemon.StartAsync(clock, vendor);
        using VesselClient client = daemon.Typed();
        LicenseInfo installed = await client.InstallLicenseAsync(await File.ReadAllTextAsync(temp.File("acme.lic")));
        Assert.Equal(("licensed", "ACME Clouds", "enterprise"), (installed.Mode, installed.Licensee, installed.Edition));
        Assert.Equal(new LicenseCapacityInfo { Hosts = 2, Vcpus = 64, RunningVms = 10 }, installed.Capacity);
        Assert.Equal(["instant-clone", "live-migration"], installed.Features);
        Assert.Equal(new DateTime(2028, 1, 1, 0, 0, 0, DateTimeKind.Utc), installed.ExpiresAt);
        Assert.Equal("root@pam", installed.InstalledBy);

        // Installing and removing are on record.
        LicenseInfo removed = await client.RemoveLicenseAsync();
        Assert.Equal("evaluation", removed.Mode);
        Page<AuditEntryInfo> audit = await client.ListAuditAsync(new AuditQuery(Action: "license"));
        Assert.Equal(["license.remove", "license.install"], audit.Items.Select(e => e.Action));
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string assembly, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
