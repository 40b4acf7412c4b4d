using System.Text;

namespace Vessel.Cli;

/// <summary>
/// Passes the guest builder's stderr on to the user as it arrives, in whatever pieces it comes
/// rather than line by line: on a terminal the builder redraws its progress line in place with
/// <c>'\r'</c>, and a line that does not end yet must still be seen. Remembers the builder's last
/// message (a line starting with <c>build-guest: </c>), whose sentence names the cause when the
/// build fails.
/// </summary>
/// <param name="destination">Where the output goes (the CLI's stderr, or a test's writer).</param>
/// <param name="destinationIsTerminal">
/// True when <paramref name="destination"/> is a terminal: a bare <c>'\n'</c> is then written as
/// <c>"\r\n"</c>, so that lines still start at the left edge when something (apt running dpkg on
/// the terminal, an earlier program that died) has left the terminal in raw mode, where a line
/// feed no longer returns the carriage.
/// </param>
internal sealed class BuilderOutputRelay(TextWriter destination, bool destinationIsTerminal)
{
    private const string MessagePrefix = "build-guest: ";

    // The terminal sequence that clears the rest of a redrawn line ("\r\e[K...").
    private const string EraseToEndOfLine = "\u001b[K";

    private readonly StringBuilder _line = new();
    private readonly StringBuilder _translated = new();
    private char _previous;

    /// <summary>The text after <c>build-guest: </c> of the last such line, or null when there was none.</summary>
    public string? LastMessage { get; private set; }

    /// <summary>Copies <paramref name="source"/> to the destination until it ends.</summary>
    public async Task RelayAsync(TextReader source)
    {
        char[] buffer = new char[4096];
        int read;
        while ((read = await source.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            Relay(buffer.AsSpan(0, read));
        }

        EndLine();
        destination.Flush();
    }

    /// <summary>Writes one piece of output on, as one write, and follows its lines.</summary>
    public void Relay(ReadOnlySpan<char> text)
    {
        _translated.Clear();
        foreach (char c in text)
        {
            if (c == '\n' && destinationIsTerminal && _previous != '\r')
            {
                _translated.Append('\r');
            }

            _translated.Append(c);
            if (c is '\n' or '\r')
            {
                EndLine();
            }
            else
            {
                _line.Append(c);
            }

            _previous = c;
        }

        destination.Write(_translated);
        destination.Flush();
    }

    private void EndLine()
    {
        string line = _line.ToString();
        _line.Clear();
        if (line.StartsWith(EraseToEndOfLine, StringComparison.Ordinal))
        {
            line = line[EraseToEndOfLine.Length..];
        }

        if (line.StartsWith(MessagePrefix, StringComparison.Ordinal))
        {
            LastMessage = line[MessagePrefix.Length..];
        }
    }
}
