using System.Buffers;

namespace Vessel.Vmm.Qmp;

/// <summary>One complete piece of client input: the UTF-8 text of a JSON value, or why the input was dropped.</summary>
internal readonly record struct FramedInput(byte[]? Json, string? Error);

/// <summary>
/// Cuts a QMP client's byte stream into whole JSON values, as QEMU's JSON streamer does: QMP is a
/// stream of JSON texts, not of lines, so one line may carry several commands and one command
/// may span lines. Single-quoted strings (QEMU's extension) are rewritten as standard JSON.
/// </summary>
/// <remarks>
/// A value may grow to <see cref="MaxValueBytes"/> and nest <see cref="MaxDepth"/> deep; past
/// either, or on a control character inside a string, the value is dropped with an error and the
/// framer skips input up to the next resynchronisation point QEMU's lexer uses (a control
/// character such as the newline, or the bytes 0xFE/0xFF that qmp-spec tells clients to send to
/// reset the parser). So a 10 MB line costs one error reply and never more than the bound in
/// memory, and the client's next line is read normally.
/// </remarks>
internal sealed class QmpInputFramer
{
    /// <summary>Far above any real command (the largest are a few KiB), and the most one client may make the VMM hold.</summary>
    public const int MaxValueBytes = 1 << 20;

    public const int MaxDepth = 1024;

    private readonly ArrayBufferWriter<byte> _value = new(4096);
    private readonly List<byte> _closers = [];
    private State _state = State.Between;
    private byte _quote;
    private bool _escape;

    private enum State
    {
        /// <summary>Between values: whitespace is skipped.</summary>
        Between,

        /// <summary>Inside an object or array (possibly in a string within it).</summary>
        Structured,

        /// <summary>A top-level bare word or number (ends at whitespace or a structural character).</summary>
        BareToken,

        /// <summary>A top-level string.</summary>
        TopLevelString,

        /// <summary>After an error: skipping to a control character or 0xFE/0xFF.</summary>
        Recovering,
    }

    /// <summary>Consumes <paramref name="data"/> and appends every value or error completed by it to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<FramedInput> output)
    {
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            switch (_state)
            {
                case State.Recovering:
                    if (IsResyncByte(b))
                    {
                        _state = State.Between;
                    }

                    break;

                case State.Between:
                    if (IsWhitespace(b) || IsResyncByte(b))
                    {
                        break;
                    }

                    if (b is (byte)'{' or (byte)'[')
                    {
                        StartValue(State.Structured);
                        Open(b, output);
                    }
                    else if (b is (byte)'}' or (byte)']')
                    {
                        output.Add(new FramedInput(null, "JSON parse error, expecting value"));
                    }
                    else if (b is (byte)'"' or (byte)'\'')
                    {
                        StartValue(State.TopLevelString);
                        _quote = b;
                        Append((byte)'"', output);
                    }
                    else
                    {
                        StartValue(State.BareToken);
                        Append(b, output);
                    }

                    break;

                case State.BareToken:
                    if (IsWhitespace(b) || IsResyncByte(b) || b is (byte)'{' or (byte)'[' or (byte)'}' or (byte)']' or (byte)'"' or (byte)'\'' or (byte)',' or (byte)':')
                    {
                        Complete(output);
                        i--; // the delimiter starts what follows
                    }
                    else
                    {
                        Append(b, output);
                    }

                    break;

                case State.TopLevelString:
                    if (InString(b, output))
                    {
                        Complete(output);
                    }

                    break;

                case State.Structured:
                    if (_quote != 0)
                    {
                        InString(b, output);
                    }
                    else if (b is (byte)'"' or (byte)'\'')
                    {
                        _quote = b;
                        Append((byte)'"', output);
                    }
                    else if (b is (byte)'{' or (byte)'[')
                    {
                        Open(b, output);
                    }
                    else if (b is (byte)'}' or (byte)']')
                    {
                        Append(b, output);
                        if (_state == State.Structured)
                        {
                            // A mismatched closer still ends the level; the parser then reports the mistake.
                            _closers.RemoveAt(_closers.Count - 1);
                            if (_closers.Count == 0)
                            {
                                Complete(output);
                            }
                        }
                    }
                    else if (!IsWhitespace(b) && IsResyncByte(b))
                    {
                        Fail("JSON parse error, invalid character", output);
                        _state = State.Between; // resume right after it
                    }
                    else
                    {
                        Append(b, output);
                    }

                    break;
            }
        }
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';

    /// <summary>Where QEMU's lexer resumes after an error: control characters (other than tab) and the impossible UTF-8 bytes.</summary>
    private static bool IsResyncByte(byte b) => (b < 0x20 && b != (byte)'\t') || b >= 0xFE;

    private void StartValue(State state)
    {
        _value.ResetWrittenCount();
        _closers.Clear();
        _quote = 0;
        _escape = false;
        _state = state;
    }

    private void Open(byte opener, List<FramedInput> output)
    {
        if (_closers.Count == MaxDepth)
        {
            Fail("JSON parse error, nesting deeper than " + MaxDepth + " levels", output);
            return;
        }

        _closers.Add(opener == (byte)'{' ? (byte)'}' : (byte)']');
        Append(opener, output);
    }

    /// <summary>One byte inside a string; returns true when it closed the string.</summary>
    private bool InString(byte b, List<FramedInput> output)
    {
        if (b < 0x20)
        {
            Fail("JSON parse error, invalid control character in a string", output);
            _state = State.Between; // the control character itself is the point to resume from
            return false;
        }

        if (_escape)
        {
            // The backslash waits until the escaped byte is known: \' (QEMU's escape for a quote in
            // a single-quoted string) becomes a plain quote, which standard JSON needs no escape for.
            _escape = false;
            if (b != (byte)'\'')
            {
                Append((byte)'\\', output);
            }

            Append(b, output);
            return false;
        }

        if (b == (byte)'\\')
        {
            _escape = true;
            return false;
        }

        if (b == _quote)
        {
            _quote = 0;
            Append((byte)'"', output);
            return true;
        }

        if (b == (byte)'"')
        {
            // A double quote inside a single-quoted string.
            Append((byte)'\\', output);
        }

        Append(b, output);
        return false;
    }

    private void Append(byte b, List<FramedInput> output)
    {
        if (_value.WrittenCount >= MaxValueBytes)
        {
            Fail($"JSON parse error, input longer than {MaxValueBytes} bytes; skipped to the end of the line", output);
            return;
        }

        _value.GetSpan(1)[0] = b;
        _value.Advance(1);
    }

    private void Complete(List<FramedInput> output)
    {
        output.Add(new FramedInput(_value.WrittenSpan.ToArray(), null));
        _value.ResetWrittenCount();
        if (_value.Capacity > 64 * 1024)
        {
            // Hand a large buffer back rather than keeping it for the session's life.
            _value.Clear();
        }

        _state = State.Between;
    }

    private void Fail(string error, List<FramedInput> output)
    {
        if (_state == State.Recovering)
        {
            return;
        }

        output.Add(new FramedInput(null, error));
        _value.ResetWrittenCount();
        _closers.Clear();
        _quote = 0;
        _state = State.Recovering;
    }
}
