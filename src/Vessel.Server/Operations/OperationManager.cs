using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Events;
using Vessel.Server.Inventory;

namespace Vessel.Server.Operations;

/// <summary>
/// Runs long operations in the background and keeps their records: progress, log, result or
/// error, times. One changing operation per target (VM, volume, ...) at a time: a second one is
/// refused with 409 while the first runs. Operations are kept in the inventory, so that their
/// outcome can be read after they end; those a daemon stop interrupted are marked failed.
/// </summary>
public sealed class OperationManager(IServiceScopeFactory scopes, EventHub events, ILogger<OperationManager> logger)
{
    private readonly ConcurrentDictionary<Guid, RunningOperation> _running = new();
    private readonly ConcurrentDictionary<Guid, (Guid Operation, string Kind)> _busy = new();

    /// <summary>Describes what an operation works on, for its record and for the one-at-a-time rule.</summary>
    public sealed record Target(string Kind, string Name, Guid? Id, IReadOnlyList<Guid>? AlsoLocks = null);

    /// <summary>
    /// Starts <paramref name="work"/> as an operation and returns its record at once; throws 409
    /// when another operation holds any of the target's locks.
    /// </summary>
    public async Task<OperationInfo> StartAsync(string kind, Target target, bool mayCancel, Func<OperationContext, Task<string?>> work)
    {
        Guid id = Guid.NewGuid();
        List<Guid> locks = [.. target.AlsoLocks ?? []];
        if (target.Id is { } targetId)
        {
            locks.Insert(0, targetId);
        }

        var taken = new List<Guid>();
        foreach (Guid lockId in locks.Distinct())
        {
            if (!_busy.TryAdd(lockId, (id, kind)))
            {
                foreach (Guid t in taken)
                {
                    _busy.TryRemove(t, out _);
                }

                (Guid other, string otherKind) = _busy.TryGetValue(lockId, out var holder) ? holder : (Guid.Empty, "another operation");
                throw ApiException.Conflict($"{Capitalized(target.Kind)} '{target.Name}' is busy with {otherKind} (operation {other}); wait for it to finish or cancel it, then retry.");
            }

            taken.Add(lockId);
        }

        var record = new OperationRecord
        {
            Id = id,
            Kind = kind,
            TargetKind = target.Kind,
            Target = target.Name,
            TargetId = target.Id,
            Status = OperationStatuses.Running,
            MayCancel = mayCancel,
            CreatedAt = DateTime.UtcNow,
            StartedAt = DateTime.UtcNow,
        };
        try
        {
            await using AsyncServiceScope scope = scopes.CreateAsyncScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            db.Operations.Add(record);
            await db.SaveChangesAsync();
        }
        catch
        {
            foreach (Guid t in taken)
            {
                _busy.TryRemove(t, out _);
            }

            throw;
        }

        var running = new RunningOperation(record, taken);
        _running[id] = running;
        events.Publish("operation.started", target.Kind, target.Name, OperationStatuses.Running, kind, id);
        _ = Task.Run(() => RunAsync(running, work));
        return ToInfo(record);
    }

    private async Task RunAsync(RunningOperation running, Func<OperationContext, Task<string?>> work)
    {
        OperationRecord record = running.Record;
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        var context = new OperationContext(this, running, scope.ServiceProvider);
        string status;
        string? result = null;
        string? error = null;
        try
        {
            result = await work(context);
            status = OperationStatuses.Succeeded;
        }
        catch (OperationCanceledException) when (running.Cancellation.IsCancellationRequested)
        {
            status = OperationStatuses.Cancelled;
            error = "The operation was cancelled.";
        }
        catch (Exception e) when (e is ApiException or OperationFailedException or IOException or UnauthorizedAccessException or Storage.VolumeException or Vessel.Storage.StorageException)
        {
            status = OperationStatuses.Failed;
            error = Sentences.Of(e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Operation {Kind} {Id} failed", record.Kind, record.Id);
            status = OperationStatuses.Failed;
            error = Sentences.Of($"The operation failed unexpectedly: {e.Message}");
        }

        lock (running)
        {
            record.Status = status;
            record.Result = result;
            record.Error = error;
            record.FinishedAt = DateTime.UtcNow;
            if (status == OperationStatuses.Succeeded)
            {
                record.Progress = 1;
            }

            if (error is not null)
            {
                running.Lines.Add(error);
            }
        }

        await SaveAsync(running);
        foreach (Guid t in running.Locks)
        {
            _busy.TryRemove(t, out _);
        }

        _running.TryRemove(record.Id, out _);
        events.Publish("operation.finished", record.TargetKind, record.Target, status, error ?? result, record.Id);
        running.Done.TrySetResult();
    }

    internal async Task SaveAsync(RunningOperation running)
    {
        // One save at a time per operation, each writing the latest state: a slow save of an
        // older state can never land after the final one.
        await running.SaveGate.WaitAsync();
        try
        {
            await SaveLatestAsync(running);
        }
        finally
        {
            running.SaveGate.Release();
        }
    }

    private async Task SaveLatestAsync(RunningOperation running)
    {
        OperationRecord copy;
        lock (running)
        {
            running.Record.Log = string.Join('\n', running.Lines);
            copy = new OperationRecord
            {
                Id = running.Record.Id,
                Kind = running.Record.Kind,
                Status = running.Record.Status,
                Progress = running.Record.Progress,
                Log = running.Record.Log,
                Result = running.Record.Result,
                Error = running.Record.Error,
                FinishedAt = running.Record.FinishedAt,
            };
        }

        try
        {
            await using AsyncServiceScope scope = scopes.CreateAsyncScope();
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            await db.Operations.Where(o => o.Id == copy.Id).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.Status, copy.Status)
                .SetProperty(o => o.Progress, copy.Progress)
                .SetProperty(o => o.Log, copy.Log)
                .SetProperty(o => o.Result, copy.Result)
                .SetProperty(o => o.Error, copy.Error)
                .SetProperty(o => o.FinishedAt, copy.FinishedAt));
        }
        catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException)
        {
            logger.LogWarning(e, "Could not record operation {Id}", copy.Id);
        }
    }

    internal void Publish(RunningOperation running, string message) =>
        events.Publish("operation.progress", running.Record.TargetKind, running.Record.Target, running.Record.Status, message, running.Record.Id);

    /// <summary>The operation, waiting up to <paramref name="wait"/> for it to finish.</summary>
    public async Task<OperationInfo> GetAsync(Guid id, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_running.TryGetValue(id, out RunningOperation? running))
        {
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await running.Done.Task.WaitAsync(wait, cancellationToken);
                }
                catch (TimeoutException)
                {
                }
            }

            if (!running.Done.Task.IsCompleted)
            {
                lock (running)
                {
                    running.Record.Log = string.Join('\n', running.Lines);
                    return ToInfo(running.Record);
                }
            }
        }

        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        OperationRecord record = await db.Operations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == id, cancellationToken)
            ?? throw ApiException.NotFound($"There is no operation {id}.");
        return ToInfo(record);
    }

    /// <summary>Asks a running operation to stop; 409 when it cannot be cancelled or has ended.</summary>
    public async Task<OperationInfo> CancelAsync(Guid id)
    {
        if (!_running.TryGetValue(id, out RunningOperation? running))
        {
            OperationInfo finished = await GetAsync(id, TimeSpan.Zero, CancellationToken.None);
            throw ApiException.Conflict($"Operation {id} has already ended ({finished.Status}); there is nothing to cancel.");
        }

        if (!running.Record.MayCancel)
        {
            throw ApiException.Conflict($"Operation {id} ({running.Record.Kind}) cannot be cancelled once started; wait for it to finish.");
        }

        running.Cancellation.Cancel();
        return await GetAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None);
    }

    /// <summary>Marks operations that a stopped daemon left unfinished as failed.</summary>
    public static void FailInterrupted(InventoryContext db)
    {
        DateTime now = DateTime.UtcNow;
        db.Operations.Where(o => o.Status == OperationStatuses.Running || o.Status == OperationStatuses.Queued)
            .ExecuteUpdate(s => s
                .SetProperty(o => o.Status, OperationStatuses.Failed)
                .SetProperty(o => o.Error, "The daemon stopped before this operation finished.")
                .SetProperty(o => o.FinishedAt, now));
    }

    public static OperationInfo ToInfo(OperationRecord record) => new()
    {
        Id = record.Id,
        Kind = record.Kind,
        TargetKind = record.TargetKind,
        Target = record.Target,
        Status = record.Status,
        Progress = record.Progress,
        MayCancel = record.MayCancel,
        Log = record.Log.Length == 0 ? [] : record.Log.Split('\n'),
        Result = record.Result,
        Error = record.Error,
        CreatedAt = DateTime.SpecifyKind(record.CreatedAt, DateTimeKind.Utc),
        StartedAt = record.StartedAt is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : null,
        FinishedAt = record.FinishedAt is { } f ? DateTime.SpecifyKind(f, DateTimeKind.Utc) : null,
    };

    /// <summary>Refuses (409) while an operation holds the target, naming that operation.</summary>
    public void RequireIdle(Target target)
    {
        if (target.Id is { } id && _busy.TryGetValue(id, out var holder))
        {
            throw ApiException.Conflict($"{Capitalized(target.Kind)} '{target.Name}' is busy with {holder.Kind} (operation {holder.Operation}); wait for it to finish or cancel it, then retry.");
        }
    }

    /// <summary>Whether an operation holds <paramref name="targetId"/>.</summary>
    public bool IsBusy(Guid targetId) => _busy.ContainsKey(targetId);

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    internal sealed class RunningOperation(OperationRecord record, IReadOnlyList<Guid> locks)
    {
        public OperationRecord Record { get; } = record;
        public IReadOnlyList<Guid> Locks { get; } = locks;
        public List<string> Lines { get; } = [];
        public CancellationTokenSource Cancellation { get; } = new();
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public DateTime LastSaved { get; set; }
        public SemaphoreSlim SaveGate { get; } = new(1, 1);
    }
}

/// <summary>What a running operation's work sees: its cancellation, progress and log, and a service scope of its own.</summary>
public sealed class OperationContext
{
    private readonly OperationManager _manager;
    private readonly OperationManager.RunningOperation _running;

    internal OperationContext(OperationManager manager, OperationManager.RunningOperation running, IServiceProvider services)
    {
        _manager = manager;
        _running = running;
        Services = services;
    }

    public Guid Id => _running.Record.Id;

    public CancellationToken CancellationToken => _running.Cancellation.Token;

    public IServiceProvider Services { get; }

    /// <summary>Adds a line to the log.</summary>
    public void Log(string line)
    {
        lock (_running)
        {
            _running.Lines.Add($"{DateTime.UtcNow:HH:mm:ss} {line}");
        }

        _manager.Publish(_running, line);
        _ = _manager.SaveAsync(_running);
    }

    /// <summary>Reports progress (0 to 1); saved at most twice a second.</summary>
    public void Progress(double fraction)
    {
        bool save;
        lock (_running)
        {
            _running.Record.Progress = Math.Clamp(fraction, 0, 1);
            save = DateTime.UtcNow - _running.LastSaved > TimeSpan.FromMilliseconds(500);
            if (save)
            {
                _running.LastSaved = DateTime.UtcNow;
            }
        }

        if (save)
        {
            _ = _manager.SaveAsync(_running);
        }
    }
}

/// <summary>An operation could not be carried out; the message is one sentence.</summary>
public sealed class OperationFailedException(string message) : Exception(message);
