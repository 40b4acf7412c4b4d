using System.Runtime.InteropServices;

namespace Vessel.Network.Io;

/// <summary>
/// A stream over an inherited file descriptor (stdin, stdout) with plain <c>read</c> and
/// <c>write</c> calls. It lives beside the network's other file-descriptor I/O so that libc's
/// read and write are imported once (<see cref="LibC"/>); the VM's console uses it.
/// </summary>
/// <remarks>
/// A <see cref="FileStream"/> on a regular file keeps its own position and writes with
/// <c>pwrite</c>, which leaves the descriptor's shared offset behind: with
/// <c>vessel run &gt;log 2&gt;&amp;1</c>, stderr would then overwrite the start of the guest's
/// output. <c>write</c> appends where the shell's redirection says, as QEMU does.
/// </remarks>
public sealed class FileDescriptorStream : Stream
{
    private readonly int _fd;
    private readonly bool _canRead;

    public FileDescriptorStream(int fd, FileAccess access)
    {
        _fd = fd;
        _canRead = access == FileAccess.Read;
    }

    public override bool CanRead => _canRead;

    public override bool CanWrite => !_canRead;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override unsafe int Read(Span<byte> buffer)
    {
        // Safe: the span is pinned for the call and read() writes at most buffer.Length bytes.
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint read = LibC.Read(_fd, p, (nuint)buffer.Length);
                if (read >= 0)
                {
                    return (int)read;
                }

                int errno = Marshal.GetLastSystemError();
                if (errno != LibC.EIntr)
                {
                    throw new IOException($"Reading file descriptor {_fd} failed (errno {errno}).");
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        // Safe: the span is pinned for the call and write() reads at most the bytes left in it.
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint written = LibC.Write(_fd, p + done, (nuint)(buffer.Length - done));
                if (written >= 0)
                {
                    done += (int)written;
                    continue;
                }

                int errno = Marshal.GetLastSystemError();
                if (errno != LibC.EIntr)
                {
                    throw new IOException($"Writing file descriptor {_fd} failed (errno {errno}).");
                }
            }
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
