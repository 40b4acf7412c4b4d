using System.Diagnostics;
using Vessel.Client;
using Vessel.Client.Contracts;

/// <summary>
/// Thousands of failed logins against one user over HTTPS (issue #13: "the lockout holds, the
/// server stays responsive, measured"): 20 clients without credentials try a wrong password,
/// bounded by a count and a time limit, while an authorised client keeps reading the VM list;
/// its latency during the storm is set beside the same reads on a quiet daemon, and the right
/// password is tried once the storm is over.
/// </summary>
internal static class LoginStormBench
{
    private const int Attackers = 20;
    private const string Target = "storm-target@vessel";
    private const string RightPassword = "the-right-password-42";

    public static async Task<List<(string What, string Figure)>> MeasureAsync(string data, ListenerBench.Endpoint endpoint, int attempts, TimeSpan limit)
    {
        Console.Error.WriteLine($"bench: {attempts} failed logins from {Attackers} clients over HTTPS, at most {limit.TotalSeconds:0} s...");
        using VesselClient root = VesselClient.ForDataDirectory(data);
        await root.CreateUserAsync(new UserCreateRequest(Target, RightPassword));
        string token = (await root.CreateTokenAsync(new TokenCreateRequest("storm-watch", User: "admin@vessel"))).Secret;
        using VesselClient watcher = VesselClient.ForServer(endpoint.Https, token, endpoint.Fingerprint);
        var quiet = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            quiet.Add(await Timing.MillisecondsAsync(() => watcher.ListVmsAsync(pageSize: 100)));
        }

        int remaining = attempts, refused = 0, locked = 0, accepted = 0;
        using var timeUp = new CancellationTokenSource(limit);
        var storm = Stopwatch.StartNew();
        Task[] attackers = Enumerable.Range(0, Attackers).Select(_ => Task.Run(async () =>
        {
            using VesselClient attacker = VesselClient.ForServer(endpoint.Https, null, endpoint.Fingerprint);
            while (!timeUp.IsCancellationRequested && Interlocked.Decrement(ref remaining) >= 0)
            {
                try
                {
                    await attacker.LoginAsync(new LoginRequest(Target, "a-wrong-password"));
                    Interlocked.Increment(ref accepted);
                }
                catch (VesselApiException e) when (e.Status == 401)
                {
                    Interlocked.Increment(ref refused);
                }
                catch (VesselApiException e) when (e.Status == 429)
                {
                    Interlocked.Increment(ref locked);
                }
            }
        })).ToArray();

        var during = new List<double>();
        while (!attackers.All(t => t.IsCompleted))
        {
            during.Add(await Timing.MillisecondsAsync(() => watcher.ListVmsAsync(pageSize: 100)));
        }

        await Task.WhenAll(attackers);
        double seconds = storm.Elapsed.TotalSeconds;
        int tried = refused + locked + accepted;

        string afterwards;
        using (VesselClient owner = VesselClient.ForServer(endpoint.Https, null, endpoint.Fingerprint))
        {
            try
            {
                await owner.LoginAsync(new LoginRequest(Target, RightPassword));
                afterwards = "accepted: the lockout did not hold";
            }
            catch (VesselApiException e) when (e.Status == 429)
            {
                afterwards = "refused while locked (429)";
            }
        }

        return
        [
            ($"{tried} failed logins, {Attackers} clients, HTTPS: per second; 401 / 429 / accepted", $"{tried / seconds:0}/s; {refused} / {locked} / {accepted}"),
            ("the right password just after the storm", afterwards),
            ("authorised GET /api/v1/vms over HTTPS, quiet: p50 / p99", $"{Percentiles.Of(quiet, 50):0.0} / {Percentiles.Of(quiet, 99):0.0} ms"),
            ($"the same during the storm ({during.Count} reads): p50 / p99", $"{Percentiles.Of(during, 50):0.0} / {Percentiles.Of(during, 99):0.0} ms"),
        ];
    }
}
