using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Licensing;
using Vessel.Server.Api;
using Vessel.Server.Inventory;

namespace Vessel.Server.Licensing;

/// <summary>
/// What the licence allows, asked by every power-on path (start, resume from suspend, a clone
/// that starts, a revert that starts the VM) and by the features that editions differ in. Without
/// an installed licence the host runs a 60-day evaluation with every feature, counted from its
/// first start. Running VMs are never stopped by the licence: only powering on is refused, with
/// one sentence naming the expiry, the limit or the feature.
/// </summary>
public sealed class LicenseGate(IServiceScopeFactory scopes, TimeProvider time, LicenseVerificationKey key, ILogger<LicenseGate> logger) : IHostedService
{
    public static readonly TimeSpan EvaluationPeriod = TimeSpan.FromDays(60);
    public static readonly TimeSpan WarningPeriod = TimeSpan.FromDays(30);
    public const string EvaluationEdition = "evaluation";

    /// <summary>The states in which a VM has (or is getting) a VMM: what a running-VM limit counts.</summary>
    private static readonly string[] s_poweredOn = [VmStates.Starting, VmStates.Running, VmStates.Paused, VmStates.Stopping, VmStates.Suspending];

    private readonly SemaphoreSlim _powerOn = new(1, 1);
    private readonly Lock _sync = new();
    private readonly Dictionary<Guid, int> _starting = [];
    private Snapshot? _current;

    private sealed record Snapshot(License? License, DateTimeOffset EvaluationStartedAt, DateTime? InstalledAt, string? InstalledBy);

    /// <summary>Records the evaluation's start on the first start of the host and reads the installed licence.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Current();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The licence (or evaluation) as the API shows it, with the warning when one is due.</summary>
    public LicenseInfo Status()
    {
        Snapshot current = Current();
        DateTimeOffset now = time.GetUtcNow();
        (DateTimeOffset from, DateTimeOffset until) = Validity(current);
        License? license = current.License;
        return new LicenseInfo
        {
            Mode = license is null ? "evaluation" : "licensed",
            Id = license?.Id,
            Licensee = license?.Licensee,
            Edition = license?.Edition ?? EvaluationEdition,
            ValidFrom = from.UtcDateTime,
            ExpiresAt = until.UtcDateTime,
            Expired = now >= until || now < from,
            DaysLeft = now >= until ? 0 : (int)Math.Ceiling((until - now).TotalDays),
            Capacity = license is null ? new LicenseCapacityInfo() : new LicenseCapacityInfo
            {
                Hosts = license.Capacity.Hosts,
                Sockets = license.Capacity.Sockets,
                Vcpus = license.Capacity.Vcpus,
                RunningVms = license.Capacity.RunningVms,
            },
            Features = license?.Features ?? LicenseFeatures.All,
            Warning = Warning(current, now),
            InstalledAt = current.InstalledAt is { } installed ? DateTime.SpecifyKind(installed, DateTimeKind.Utc) : null,
            InstalledBy = current.InstalledBy,
        };
    }

    /// <summary>The sentence that warns of the coming (or past) expiry, from 30 days before it; null before then.</summary>
    public string? Warning() => Warning(Current(), time.GetUtcNow());

    /// <summary>Refuses a feature that the licence's edition does not include.</summary>
    public void RequireFeature(string feature)
    {
        if (Current().License is { } license && !license.HasFeature(feature))
        {
            throw ApiException.Conflict($"The {license.Edition} edition of the licence does not include {feature}; a licence for an edition with it is needed.");
        }
    }

    /// <summary>Checks, at the request, that <paramref name="vm"/> may be powered on now (the operation checks again, under <see cref="ReservePowerOnAsync"/>).</summary>
    public async Task CheckPowerOnAsync(VmRecord vm)
    {
        using IServiceScope scope = scopes.CreateScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        await _powerOn.WaitAsync();
        try
        {
            await CheckPowerOnCoreAsync(db, vm, CancellationToken.None);
        }
        finally
        {
            _powerOn.Release();
        }
    }

    /// <summary>
    /// Refuses a power-on the licence does not allow; otherwise counts the VM as running until the
    /// returned reservation is disposed (by then the inventory says it runs), so that two starts
    /// at once cannot both take the last free place.
    /// </summary>
    public async Task<IDisposable> ReservePowerOnAsync(InventoryContext db, VmRecord vm, CancellationToken cancellationToken)
    {
        await _powerOn.WaitAsync(cancellationToken);
        try
        {
            await CheckPowerOnCoreAsync(db, vm, cancellationToken);
            lock (_sync)
            {
                _starting[vm.Id] = vm.Cpus;
            }

            return new Reservation(this, vm.Id);
        }
        finally
        {
            _powerOn.Release();
        }
    }

    private async Task CheckPowerOnCoreAsync(InventoryContext db, VmRecord vm, CancellationToken cancellationToken)
    {
        Snapshot current = Current();
        RequireValid(current, time.GetUtcNow());
        if (current.License?.Capacity is not { } capacity || (capacity.RunningVms is null && capacity.Vcpus is null))
        {
            return;
        }

        List<Guid> starting;
        int startingCpus;
        lock (_sync)
        {
            starting = _starting.Keys.Where(id => id != vm.Id).ToList();
            startingCpus = _starting.Where(s => s.Key != vm.Id).Sum(s => s.Value);
        }

        List<int> others = await db.Vms.AsNoTracking()
            .Where(v => v.Id != vm.Id && !starting.Contains(v.Id) && s_poweredOn.Contains(v.State))
            .Select(v => v.Cpus).ToListAsync(cancellationToken);
        int running = others.Count + starting.Count;
        int cpus = others.Sum() + startingCpus;
        if (capacity.RunningVms is { } maxVms && running >= maxVms)
        {
            throw ApiException.Conflict($"The licence allows {Count(maxVms, "running VM")}; {running} {(running == 1 ? "is" : "are")} running, so VM '{vm.Name}' cannot be powered on.");
        }

        if (capacity.Vcpus is { } maxCpus && cpus + vm.Cpus > maxCpus)
        {
            throw ApiException.Conflict($"The licence allows {Count(maxCpus, "vCPU")} in running VMs; {cpus} {(cpus == 1 ? "is" : "are")} in use and VM '{vm.Name}' needs {vm.Cpus}.");
        }
    }

    /// <summary>Verifies and installs a licence file's text; returns the new status. Refuses (one sentence) what is not a valid, current licence for this product.</summary>
    public async Task<LicenseInfo> InstallAsync(string text, string installedBy)
    {
        if (text.Length > LicenseStateRecord.MaxLicenseLength)
        {
            throw ApiException.BadRequest($"A licence file is at most {LicenseStateRecord.MaxLicenseLength / 1024} KiB; this is not one.");
        }

        License license;
        try
        {
            license = LicenseDocument.Read(text, key.Key);
        }
        catch (LicenseException e)
        {
            throw ApiException.BadRequest(e.Message);
        }

        if (time.GetUtcNow() >= license.NotAfter)
        {
            throw ApiException.BadRequest($"Licence {license.Id} expired on {Day(license.NotAfter)}; install a current one.");
        }

        await UpdateAsync(state =>
        {
            state.LicenseText = text;
            state.InstalledAt = time.GetUtcNow().UtcDateTime;
            state.InstalledBy = installedBy;
        });
        logger.LogInformation("Licence {Id} for {Licensee} ({Edition}, until {NotAfter}) installed by {Who}", license.Id, license.Licensee, license.Edition, license.NotAfter, installedBy);
        return Status();
    }

    /// <summary>Removes the installed licence: the host is back in its evaluation (which may have ended).</summary>
    public async Task<LicenseInfo> RemoveAsync()
    {
        if (Current().License is null)
        {
            throw ApiException.NotFound("No licence is installed; the host runs in its evaluation.");
        }

        await UpdateAsync(state =>
        {
            state.LicenseText = null;
            state.InstalledAt = null;
            state.InstalledBy = null;
        });
        return Status();
    }

    private async Task UpdateAsync(Action<LicenseStateRecord> change)
    {
        using IServiceScope scope = scopes.CreateScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        LicenseStateRecord state = LoadOrCreate(db);
        change(state);
        await db.SaveChangesAsync();
        lock (_sync)
        {
            _current = Read(state);
        }
    }

    private Snapshot Current()
    {
        lock (_sync)
        {
            if (_current is not null)
            {
                return _current;
            }
        }

        using IServiceScope scope = scopes.CreateScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        Snapshot loaded = Read(LoadOrCreate(db));
        lock (_sync)
        {
            return _current ??= loaded;
        }
    }

    private LicenseStateRecord LoadOrCreate(InventoryContext db)
    {
        LicenseStateRecord? state = db.LicenseState.Find(LicenseStateRecord.SingletonId);
        if (state is null)
        {
            // The first start: the evaluation begins now, once; removing a licence never restarts it.
            state = new LicenseStateRecord { EvaluationStartedAt = time.GetUtcNow().UtcDateTime };
            db.LicenseState.Add(state);
            db.SaveChanges();
        }

        return state;
    }

    private Snapshot Read(LicenseStateRecord state)
    {
        License? license = null;
        if (state.LicenseText is { } text)
        {
            try
            {
                license = LicenseDocument.Read(text, key.Key);
            }
            catch (LicenseException e)
            {
                // Edited in the database, or the product's key changed: as good as no licence.
                logger.LogWarning("The installed licence is ignored: {Reason}", e.Message);
            }
        }

        var evaluationStart = new DateTimeOffset(DateTime.SpecifyKind(state.EvaluationStartedAt, DateTimeKind.Utc));
        return new Snapshot(license, evaluationStart, license is null ? null : state.InstalledAt, license is null ? null : state.InstalledBy);
    }

    private static (DateTimeOffset From, DateTimeOffset Until) Validity(Snapshot current) => current.License is { } license
        ? (license.NotBefore, license.NotAfter)
        : (current.EvaluationStartedAt, current.EvaluationStartedAt + EvaluationPeriod);

    private static void RequireValid(Snapshot current, DateTimeOffset now)
    {
        (DateTimeOffset from, DateTimeOffset until) = Validity(current);
        if (current.License is null && now >= until)
        {
            throw ApiException.Conflict($"The {EvaluationPeriod.TotalDays:0}-day evaluation ended on {Day(until)}; running VMs keep running, but none can be powered on until a licence is installed (vessel license install FILE).");
        }

        if (now >= until)
        {
            throw ApiException.Conflict($"The licence expired on {Day(until)}; running VMs keep running, but none can be powered on until a new licence is installed (vessel license install FILE).");
        }

        if (now < from)
        {
            throw ApiException.Conflict($"The licence is valid from {Day(from)}; no VM can be powered on before then.");
        }
    }

    private static string? Warning(Snapshot current, DateTimeOffset now)
    {
        (_, DateTimeOffset until) = Validity(current);
        string what = current.License is null ? "evaluation" : "licence";
        if (now >= until)
        {
            return current.License is null
                ? $"The evaluation ended on {Day(until)}; VMs cannot be powered on until a licence is installed."
                : $"The licence expired on {Day(until)}; VMs cannot be powered on until a new licence is installed.";
        }

        if (until - now > WarningPeriod)
        {
            return null;
        }

        int days = (int)Math.Ceiling((until - now).TotalDays);
        return $"The {what} {(current.License is null ? "ends" : "expires")} on {Day(until)} (in {Count(days, "day")}); install {(current.License is null ? "a" : "a new")} licence with vessel license install FILE.";
    }

    private static string Day(DateTimeOffset date) => date.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private void Release(Guid vmId)
    {
        lock (_sync)
        {
            _starting.Remove(vmId);
        }
    }

    private sealed class Reservation(LicenseGate gate, Guid vmId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Release(vmId);
            }
        }
    }
}
