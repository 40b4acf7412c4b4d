using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// How long each phase of one migration took, for finding where its time goes: with
/// <c>VESSEL_MIGRATION_TRACE=FILE</c> each outgoing and incoming migration appends one line to
/// FILE (the wall clock at its start, then each phase's milliseconds and the total); off by
/// default, and then it costs nothing. The line goes to a file rather than to standard error
/// because a VMM's standard error is often not kept (a daemon, a benchmark).
/// </summary>
internal sealed class MigrationPhases
{
    private static readonly string? s_path = Environment.GetEnvironmentVariable("VESSEL_MIGRATION_TRACE") is { Length: > 0 } path ? path : null;

    private readonly StringBuilder _line;
    private readonly long _origin;
    private long _last;

    private MigrationPhases(string direction)
    {
        _origin = _last = Stopwatch.GetTimestamp();
        _line = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0:F3} pid {Environment.ProcessId} {direction}:"));
    }

    /// <summary>A trace of one migration, or null when tracing is off.</summary>
    public static MigrationPhases? Begin(string direction) => s_path is null ? null : new MigrationPhases(direction);

    /// <summary>Ends the phase <paramref name="phase"/> now (its time runs from the last mark).</summary>
    public void Mark(string phase, string? detail = null)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_line)
        {
            _line.Append(CultureInfo.InvariantCulture, $" {phase} {Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds:F1}");
            if (detail is not null)
            {
                _line.Append(CultureInfo.InvariantCulture, $" ({detail})");
            }

            _line.Append(',');
            _last = now;
        }
    }

    /// <summary>Appends the line, ending with <paramref name="outcome"/> and the total.</summary>
    public void Write(string outcome)
    {
        string line;
        lock (_line)
        {
            line = _line.Append(CultureInfo.InvariantCulture, $" {outcome}, total {Stopwatch.GetElapsedTime(_origin).TotalMilliseconds:F1} ms\n").ToString();
        }

        try
        {
            File.AppendAllText(s_path!, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A trace that cannot be written must not fail the migration it describes.
        }
    }
}
