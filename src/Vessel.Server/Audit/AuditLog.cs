using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Audit;

/// <summary>What happened, as the middleware saw it; <see cref="AuditLog"/> numbers, times and chains it.</summary>
public sealed record AuditEvent(string User, string Source, string Action, string Object, int Status, string? Detail, Guid? OperationId);

/// <summary>
/// The audit log: appends entries one at a time (serialized, so the chain never forks), each
/// with the chain's head in the same transaction (a crash leaves the whole entry or none),
/// verifies the chain, and applies retention, which leaves a checkpoint (the last removed
/// entry's sequence and hash) for verification to start from.
/// </summary>
public sealed class AuditLog(IServiceScopeFactory scopes, TimeProvider time, IConfiguration configuration, ILogger<AuditLog> logger)
{
    public const int DefaultRetentionDays = 365;
    public const int MaxRetentionDays = 36500;
    public const string RetentionSetting = "Vessel:AuditRetentionDays";

    private readonly SemaphoreSlim _write = new(1, 1);

    /// <summary>Appends one entry; returns its sequence number.</summary>
    public async Task<long> AppendAsync(AuditEvent what)
    {
        await _write.WaitAsync();
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            AuditStateRecord state = await StateAsync(db);
            var entry = new AuditEntryRecord
            {
                Sequence = state.HeadSequence + 1,
                Time = time.GetUtcNow().UtcDateTime,
                User = Clip(what.User, AuditEntryRecord.UserLength),
                Source = Clip(what.Source, AuditEntryRecord.SourceLength),
                Action = Clip(what.Action, AuditEntryRecord.ActionLength),
                Object = Clip(what.Object, AuditEntryRecord.ObjectLength),
                Status = what.Status,
                Detail = what.Detail is null ? null : Clip(what.Detail, AuditEntryRecord.DetailLength),
                OperationId = what.OperationId,
                PreviousHash = state.HeadHash,
            };
            entry.Hash = AuditChain.HashOf(entry);
            db.AuditEntries.Add(entry);
            state.HeadSequence = entry.Sequence;
            state.HeadHash = entry.Hash;
            // One SaveChanges is one transaction: the entry and the new head, or neither.
            await db.SaveChangesAsync();
            return entry.Sequence;
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>Walks the chain from the checkpoint to the head; reports the first entry that breaks it.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        using IServiceScope scope = scopes.CreateScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        // Retention may run meanwhile: read the state and the entries as one snapshot (SQLite's
        // transactions are; PostgreSQL's default, read committed, is not: repeatable read is).
        await using var transaction = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        AuditStateRecord state = await db.AuditState.AsNoTracking().FirstOrDefaultAsync(s => s.Id == AuditStateRecord.SingletonId, cancellationToken) ?? new AuditStateRecord();
        long expected = state.CheckpointSequence + 1;
        string previous = state.CheckpointHash;
        long checkedEntries = 0;
        AuditVerification Broken(long sequence, string reason) => new()
        {
            Ok = false,
            Entries = checkedEntries,
            CheckpointSequence = state.CheckpointSequence,
            FirstBroken = new AuditBreak(sequence, reason),
        };

        await foreach (AuditEntryRecord entry in db.AuditEntries.AsNoTracking().OrderBy(e => e.Sequence).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            if (entry.Sequence < expected)
            {
                return Broken(entry.Sequence, $"Entry {entry.Sequence} is older than the retention checkpoint at entry {state.CheckpointSequence}, which retention removed: it was put back or the checkpoint was altered.");
            }

            if (entry.Sequence > expected)
            {
                return Broken(expected, entry.Sequence == expected + 1
                    ? $"Entry {expected} is missing: the log goes from entry {expected - 1} to entry {entry.Sequence}."
                    : $"Entries {expected} to {entry.Sequence - 1} are missing: the log goes from entry {expected - 1} to entry {entry.Sequence}.");
            }

            if (entry.PreviousHash != previous)
            {
                return Broken(entry.Sequence, $"Entry {entry.Sequence} does not follow entry {entry.Sequence - 1}: the hash it records for its predecessor is not that entry's, so an entry before it was altered or replaced.");
            }

            if (AuditChain.HashOf(entry) != entry.Hash)
            {
                return Broken(entry.Sequence, $"Entry {entry.Sequence} was altered: its content no longer matches its hash.");
            }

            previous = entry.Hash;
            expected++;
            checkedEntries++;
        }

        if (expected - 1 != state.HeadSequence || previous != state.HeadHash)
        {
            return expected - 1 < state.HeadSequence
                ? Broken(expected, $"Entries {expected} to {state.HeadSequence} are missing: the log ends at entry {expected - 1}, but entry {state.HeadSequence} was the last one written.")
                : Broken(expected - 1, $"Entry {expected - 1} is not the last entry the log wrote (entry {state.HeadSequence}): the log's head was altered.");
        }

        return new AuditVerification { Ok = true, Entries = checkedEntries, CheckpointSequence = state.CheckpointSequence };
    }

    /// <summary>How many days entries are kept: the setting made through the API, else <c>--audit-retention-days</c>, else 365.</summary>
    public async Task<int> RetentionDaysAsync(InventoryContext db) =>
        (await db.AuditState.AsNoTracking().FirstOrDefaultAsync(s => s.Id == AuditStateRecord.SingletonId))?.RetentionDays ?? configuration.GetValue(RetentionSetting, DefaultRetentionDays);

    public static int CheckRetentionDays(int days) => days is >= 1 and <= MaxRetentionDays
        ? days
        : throw ApiException.BadRequest($"The audit log keeps entries for 1 to {MaxRetentionDays} days, not {days}.");

    /// <summary>Sets the retention (days) and applies it at once.</summary>
    public async Task<int> SetRetentionDaysAsync(int days)
    {
        CheckRetentionDays(days);
        await _write.WaitAsync();
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            AuditStateRecord state = await StateAsync(db);
            state.RetentionDays = days;
            await db.SaveChangesAsync();
        }
        finally
        {
            _write.Release();
        }

        await ApplyRetentionAsync();
        return days;
    }

    /// <summary>Removes the entries older than the retention, oldest first, and moves the checkpoint to the last one removed.</summary>
    public async Task<int> ApplyRetentionAsync()
    {
        await _write.WaitAsync();
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            DateTime cutoff = time.GetUtcNow().UtcDateTime - TimeSpan.FromDays(await RetentionDaysAsync(db));
            // Entries are appended in time order under this same lock: the old ones are a prefix.
            AuditEntryRecord? last = await db.AuditEntries.AsNoTracking()
                .Where(e => e.Time < cutoff).OrderByDescending(e => e.Sequence).FirstOrDefaultAsync();
            if (last is null)
            {
                return 0;
            }

            await using var transaction = await db.Database.BeginTransactionAsync();
            AuditStateRecord state = await StateAsync(db);
            state.CheckpointSequence = last.Sequence;
            state.CheckpointHash = last.Hash;
            await db.SaveChangesAsync();
            int removed = await db.AuditEntries.Where(e => e.Sequence <= last.Sequence).ExecuteDeleteAsync();
            await transaction.CommitAsync();
            logger.LogInformation("Audit retention removed {Count} entries up to entry {Sequence} (before {Cutoff:u})", removed, last.Sequence, cutoff);
            return removed;
        }
        finally
        {
            _write.Release();
        }
    }

    private static async Task<AuditStateRecord> StateAsync(InventoryContext db)
    {
        AuditStateRecord? state = await db.AuditState.FirstOrDefaultAsync(s => s.Id == AuditStateRecord.SingletonId);
        if (state is null)
        {
            state = new AuditStateRecord();
            db.AuditState.Add(state);
        }

        return state;
    }

    private static string Clip(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}

/// <summary>Applies the audit log's retention at start and then hourly.</summary>
public sealed class AuditRetention(AuditLog log, TimeProvider time, ILogger<AuditRetention> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await log.ApplyRetentionAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Audit retention failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
