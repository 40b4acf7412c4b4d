using System.Text;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// A writer that keeps what is written to it, from any thread, and lets a test wait until some
/// text has arrived: the stand-in for a terminal that shows output as it comes.
/// </summary>
public sealed class RecordingWriter : TextWriter
{
    private readonly StringBuilder _text = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text)
        {
            _text.Append(value);
            Monitor.PulseAll(_text);
        }
    }

    public override void Write(string? value)
    {
        lock (_text)
        {
            _text.Append(value);
            Monitor.PulseAll(_text);
        }
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <summary>Waits until the text written so far contains <paramref name="expected"/>; false when it has not within <paramref name="timeout"/>.</summary>
    public bool WaitFor(string expected, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_text)
        {
            while (!_text.ToString().Contains(expected, StringComparison.Ordinal))
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_text, left))
                {
                    return _text.ToString().Contains(expected, StringComparison.Ordinal);
                }
            }

            return true;
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
