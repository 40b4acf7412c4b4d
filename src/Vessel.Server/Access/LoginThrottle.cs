using System.Collections.Concurrent;
using Vessel.Server.Api;

namespace Vessel.Server.Access;

/// <summary>
/// Slows down and then locks out repeated failed logins, per user name and per source address,
/// in memory. A refusal is an answer at once (429 with Retry-After), never a sleep on the
/// server, so that thousands of attempts cost the daemon nothing but a lookup.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    /// <summary>The thresholds of one kind of key: failures answered at once, failures that lock, how long a lock lasts.</summary>
    public sealed record Policy(int FreeFailures, int LockAfter, TimeSpan LockFor, TimeSpan MaxDelay);

    public static readonly Policy PerUser = new(3, 10, TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(30));
    public static readonly Policy PerSource = new(10, 50, TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(30));

    /// <summary>Failures older than this are forgotten.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private const int MaxKeys = 100_000;

    private readonly ConcurrentDictionary<string, Failures> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Failures> _sources = new(StringComparer.Ordinal);

    private sealed record Failures(int Count, DateTimeOffset Last, DateTimeOffset LockedUntil);

    /// <summary>Refuses the attempt (429) while the user or the source is locked out or must still wait.</summary>
    public void Check(string user, string source)
    {
        DateTimeOffset now = time.GetUtcNow();
        CheckOne(_users, user, PerUser, now, $"user {user}");
        CheckOne(_sources, source, PerSource, now, $"address {source}");
    }

    public void Failed(string user, string source)
    {
        DateTimeOffset now = time.GetUtcNow();
        Record(_users, user, PerUser, now);
        Record(_sources, source, PerSource, now);
    }

    public void Succeeded(string user) => _users.TryRemove(user, out _);

    private static void CheckOne(ConcurrentDictionary<string, Failures> table, string key, Policy policy, DateTimeOffset now, string who)
    {
        if (!table.TryGetValue(key, out Failures? failures) || now - failures.Last > Window && failures.LockedUntil <= now)
        {
            return;
        }

        if (failures.LockedUntil > now)
        {
            throw TooMany(failures.LockedUntil - now, $"Too many failed logins for {who}: logins are locked for {Describe(failures.LockedUntil - now)}.");
        }

        if (failures.Count >= policy.FreeFailures)
        {
            DateTimeOffset next = failures.Last + DelayAfter(failures.Count, policy);
            if (next > now)
            {
                throw TooMany(next - now, $"Too many failed logins for {who}: wait {Describe(next - now)} before the next attempt.");
            }
        }
    }

    /// <summary>1 s after the first failure past the free ones, doubling up to the policy's maximum.</summary>
    public static TimeSpan DelayAfter(int failures, Policy policy) =>
        failures < policy.FreeFailures ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(Math.Pow(2, failures - policy.FreeFailures), policy.MaxDelay.TotalSeconds));

    private static void Record(ConcurrentDictionary<string, Failures> table, string key, Policy policy, DateTimeOffset now)
    {
        if (table.Count > MaxKeys)
        {
            // Bounded memory under a flood of made-up names: forget the quiet keys.
            foreach ((string old, Failures f) in table)
            {
                if (now - f.Last > Window && f.LockedUntil <= now)
                {
                    table.TryRemove(old, out _);
                }
            }
        }

        table.AddOrUpdate(key,
            _ => new Failures(1, now, DateTimeOffset.MinValue),
            (_, f) =>
            {
                int count = now - f.Last > Window && f.LockedUntil <= now ? 1 : f.Count + 1;
                return count >= policy.LockAfter
                    ? new Failures(0, now, now + policy.LockFor)
                    : new Failures(count, now, f.LockedUntil);
            });
    }

    private static ApiException TooMany(TimeSpan retryAfter, string detail) =>
        new(StatusCodes.Status429TooManyRequests, detail) { RetryAfterSeconds = (int)Math.Ceiling(retryAfter.TotalSeconds) };

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds < 120 ? $"{Math.Ceiling(span.TotalSeconds)} seconds" : $"{Math.Ceiling(span.TotalMinutes)} minutes";
}
