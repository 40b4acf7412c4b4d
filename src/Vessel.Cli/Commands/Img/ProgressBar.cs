using System.Diagnostics;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary>A one-line progress display on stderr: percentage, rate and time left, redrawn at most ten times a second.</summary>
internal sealed class ProgressBar : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw = -1000;
    private bool _drawn;

    public ProgressCallback Callback => Report;

    private void Report(long done, long total)
    {
        long now = _clock.ElapsedMilliseconds;
        if (now - _lastDraw < 100 && done < total)
        {
            return;
        }

        _lastDraw = now;
        double fraction = total <= 0 ? 1 : Math.Clamp((double)done / total, 0, 1);
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        double rate = done / seconds;
        string left = fraction > 0 && fraction < 1 ? FormatTime(seconds * (1 - fraction) / fraction) + " left" : fraction >= 1 ? "done" : "";
        const int width = 30;
        int filled = (int)(fraction * width);
        string bar = new string('#', filled) + new string('.', width - filled);
        Console.Error.Write($"\r    [{bar}] {fraction * 100,6:0.00}%  {HumanSize.Format((long)rate)}/s  {left}   ");
        _drawn = true;
    }

    private static string FormatTime(double seconds)
    {
        var time = TimeSpan.FromSeconds(Math.Min(seconds, 359_999));
        return time.TotalHours >= 1 ? $"{(int)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}" : $"{time.Minutes}:{time.Seconds:00}";
    }

    public void Dispose()
    {
        if (_drawn)
        {
            Console.Error.WriteLine();
        }
    }
}
