using Vessel.Storage.Qcow2.Snapshots;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// Reads the VM state stored in a snapshot (QEMU's <c>bdrv_load_vmstate</c>), straight from the
/// snapshot's own tables: it does not matter whether the snapshot was applied, and nothing is
/// written. Seekable; <see cref="Length"/> is the snapshot's VM-state size. Reading fails once
/// the snapshot is deleted.
/// </summary>
public sealed class VmStateReader : Stream
{
    private readonly Qcow2Image _image;
    private readonly Qcow2Snapshot _snapshot;
    private readonly ulong[] _l1;
    private readonly long _stateOffset;
    private readonly long _length;
    private long _position;
    private bool _disposed;

    internal VmStateReader(Qcow2Image image, Qcow2Snapshot snapshot, ulong[] l1, long stateOffset, long length)
    {
        _image = image;
        _snapshot = snapshot;
        _l1 = l1;
        _stateOffset = stateOffset;
        _length = length;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    /// <summary>Reads at <paramref name="position"/> of the state; returns the bytes read (fewer at its end).</summary>
    public int ReadAt(long position, Span<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        int count = (int)Math.Min(buffer.Length, _length - position);
        _image.ReadVmState(_snapshot, _l1, _stateOffset + position, buffer[..count]);
        return count;
    }

    public override int Read(Span<byte> buffer)
    {
        int read = ReadAt(_position, buffer);
        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("a snapshot's VM state is read-only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a snapshot's VM state is read-only");

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }
}
