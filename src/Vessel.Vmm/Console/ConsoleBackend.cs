namespace Vessel.Vmm.Console;

/// <summary>Passes host input to the guest; returns once the guest has taken all of it (or the console is closing).</summary>
public delegate void ConsoleInputHandler(ReadOnlySpan<byte> data);

/// <summary>
/// Where the guest console goes on the host, as QEMU's character devices (<c>-serial</c>):
/// this terminal, a Unix socket to attach to, a pseudo-terminal, a file, or nowhere.
/// </summary>
public abstract class ConsoleBackend : IDisposable
{
    /// <summary>The user asked the VMM to quit from the console.</summary>
    public event Action? QuitRequested;

    /// <summary>
    /// Parses a <c>--serial</c> value: <c>stdio</c>, <c>unix:PATH[,server=on][,wait=off]</c>,
    /// <c>pty</c>, <c>file:PATH</c> or <c>null</c>. Nothing is opened yet.
    /// </summary>
    /// <exception cref="FormatException">Not a spelling Vessel takes (one sentence).</exception>
    public static Func<ConsoleBackend> Parse(string text)
    {
        if (text == "stdio")
        {
            return StdioConsoleBackend.Open;
        }

        if (text == "pty")
        {
            return PtyConsoleBackend.Open;
        }

        if (text is "null" or "none")
        {
            return () => new NullConsoleBackend();
        }

        if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > "file:".Length)
        {
            string path = text["file:".Length..];
            return () => FileConsoleBackend.Open(path);
        }

        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            string[] parts = text["unix:".Length..].Split(',');
            foreach (string option in parts.Skip(1))
            {
                // The console socket always listens and never holds the VM back for a client:
                // the guest's output is kept meanwhile (QEMU's server=on,wait=off).
                if (option is not ("server" or "server=on" or "wait=off" or "nowait"))
                {
                    throw new FormatException($"--serial option '{option}' is not one Vessel takes; a console socket is always server=on,wait=off.");
                }
            }

            if (parts[0].Length > 0)
            {
                return () => SocketConsoleBackend.Listen(parts[0]);
            }
        }

        throw new FormatException($"--serial '{text}' is not a console Vessel has; use stdio, unix:PATH, pty, file:PATH or null.");
    }

    /// <summary>Starts reading host input (if the backend has any) and passing it to <paramref name="deliver"/>.</summary>
    public abstract void Start(ConsoleInputHandler deliver);

    /// <summary>Guest output, in the order written; never blocks the guest for long (output nobody reads is dropped or kept in a bounded history).</summary>
    public abstract void Write(ReadOnlySpan<byte> data);

    protected void RequestQuit() => QuitRequested?.Invoke();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary><c>--serial null</c>: the guest's output goes nowhere and it gets no input.</summary>
public sealed class NullConsoleBackend : ConsoleBackend
{
    public override void Start(ConsoleInputHandler deliver)
    {
    }

    public override void Write(ReadOnlySpan<byte> data)
    {
    }
}

/// <summary><c>--serial file:PATH</c>: the guest's output is written to a file (created or truncated, as QEMU does); no input.</summary>
public sealed class FileConsoleBackend : ConsoleBackend
{
    private readonly FileStream _file;

    private FileConsoleBackend(FileStream file)
    {
        _file = file;
    }

    /// <exception cref="VmmException">The file cannot be created.</exception>
    public static FileConsoleBackend Open(string path)
    {
        try
        {
            return new FileConsoleBackend(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"--serial cannot create '{path}': {e.Message.TrimEnd('.')}.");
        }
    }

    public override void Start(ConsoleInputHandler deliver)
    {
    }

    public override void Write(ReadOnlySpan<byte> data)
    {
        try
        {
            _file.Write(data);
        }
        catch (IOException)
        {
            // A full disk loses console output; the guest runs on, as QEMU's does.
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }
    }
}
