using System.Text.Json.Nodes;
using Vessel.Vmm.Runtime;

namespace Vessel.Vmm.Qmp;

/// <summary>
/// QEMU's job model for the <c>snapshot-save</c>, <c>snapshot-load</c> and <c>snapshot-delete</c>
/// commands: the command returns at once and the work runs on a thread of its own; each change
/// of status is a <c>JOB_STATUS_CHANGE</c> event; a finished job stays <c>concluded</c> (with its
/// error, if any) in <c>query-jobs</c> until <c>job-dismiss</c>.
/// </summary>
/// <remarks>
/// The statuses follow QEMU's for these jobs: created, running, then waiting, pending, concluded
/// after success, or aborting, concluded after a failure; dismissing makes it null and forgets it.
/// </remarks>
internal sealed class QmpJobRegistry
{
    private readonly Action<MachineEvent> _emit;
    private readonly object _gate = new();
    private readonly List<Job> _jobs = [];

    public QmpJobRegistry(Action<MachineEvent> emit)
    {
        _emit = emit;
    }

    /// <summary>Creates a job and runs <paramref name="work"/> on a thread; throws <see cref="VmmException"/> to fail the job with that sentence.</summary>
    /// <exception cref="QmpException">The job id is malformed or in use.</exception>
    public void Start(string id, string type, Action work)
    {
        if (!IsWellFormed(id))
        {
            throw QmpException.Generic($"Invalid job ID '{id}'");
        }

        var job = new Job(id, type);
        lock (_gate)
        {
            if (_jobs.Any(existing => existing.Id == id))
            {
                throw QmpException.Generic($"Job ID '{id}' already in use");
            }

            _jobs.Insert(0, job); // query-jobs lists the newest first, as QEMU does
        }

        SetStatus(job, "created");
        SetStatus(job, "running");
        new Thread(() => Run(job, work)) { IsBackground = true, Name = $"job {id}" }.Start();
    }

    /// <summary>Every job not yet dismissed (<c>query-jobs</c>).</summary>
    public JsonArray Query()
    {
        var list = new JsonArray();
        lock (_gate)
        {
            foreach (Job job in _jobs)
            {
                var info = new JsonObject
                {
                    ["current-progress"] = job.Status == "concluded" ? 1 : 0,
                    ["status"] = job.Status,
                    ["total-progress"] = 1,
                    ["type"] = job.Type,
                    ["id"] = job.Id,
                };
                if (job.Error is not null)
                {
                    info["error"] = job.Error;
                }

                list.Add(info);
            }
        }

        return list;
    }

    /// <summary>Forgets a concluded job (<c>job-dismiss</c>).</summary>
    /// <exception cref="QmpException">No such job, or it has not concluded.</exception>
    public void Dismiss(string id)
    {
        Job job;
        lock (_gate)
        {
            job = _jobs.FirstOrDefault(candidate => candidate.Id == id) ?? throw QmpException.Generic("Job not found");
            if (job.Status != "concluded")
            {
                throw QmpException.Generic($"Job '{id}' in state '{job.Status}' cannot accept command verb 'dismiss'");
            }

            _jobs.Remove(job);
        }

        SetStatus(job, "null");
    }

    /// <summary>Waits until the job <paramref name="id"/> has concluded (for tests and HMP); returns its error or null.</summary>
    public string? WaitForConclusion(string id, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (true)
            {
                Job? job = _jobs.FirstOrDefault(candidate => candidate.Id == id);
                if (job is null || job.Status == "concluded")
                {
                    return job?.Error;
                }

                if (!Monitor.Wait(_gate, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
                {
                    throw new TimeoutException($"job {id} did not conclude");
                }
            }
        }
    }

    private void Run(Job job, Action work)
    {
        string? error = null;
        try
        {
            work();
        }
        catch (VmmException e)
        {
            error = e.Message.TrimEnd('.');
        }
        catch (QmpException e)
        {
            error = e.Message;
        }

        if (error is null)
        {
            SetStatus(job, "waiting");
            SetStatus(job, "pending");
        }
        else
        {
            lock (_gate)
            {
                job.Error = error;
            }

            SetStatus(job, "aborting");
        }

        SetStatus(job, "concluded");
    }

    private void SetStatus(Job job, string status)
    {
        lock (_gate)
        {
            job.Status = status;
            Monitor.PulseAll(_gate);
        }

        _emit(MachineEvent.Now("JOB_STATUS_CHANGE", new JsonObject { ["status"] = status, ["id"] = job.Id }));
    }

    /// <summary>QEMU's rule for ids: a letter, then letters, digits, '-', '.' and '_'.</summary>
    private static bool IsWellFormed(string id) =>
        id.Length > 0 && char.IsAsciiLetter(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    private sealed class Job(string id, string type)
    {
        public string Id { get; } = id;

        public string Type { get; } = type;

        public string Status { get; set; } = "created";

        public string? Error { get; set; }
    }
}
