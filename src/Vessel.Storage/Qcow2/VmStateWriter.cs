namespace Vessel.Storage.Qcow2;

/// <summary>
/// Writes a VM state into a qcow2 image ahead of the snapshot that will hold it (QEMU's
/// <c>bdrv_save_vmstate</c>). The bytes go into clusters of the image as they are written, in
/// chunks of any size, never buffered whole; nothing on disk points at them until
/// <see cref="Qcow2Image.CreateSnapshot(string, SnapshotOptions)"/> takes the state, so a crash
/// before that leaves the image as it was (at worst a few leaked clusters). Disposing a writer
/// whose state no snapshot took frees what it wrote.
///
/// Sequential writes go through the stream; <see cref="WriteAt"/> writes at any position (a
/// header filled in last, say). Bytes never written read back as zeroes, and
/// <see cref="SetLength"/> may extend the state without writing (sparse).
/// </summary>
public sealed class VmStateWriter : Stream
{
    private readonly Qcow2Image _image;
    private long _position;
    private long _length;
    private bool _finished;

    internal VmStateWriter(Qcow2Image image)
    {
        _image = image;
    }

    internal Qcow2Image Image => _image;

    /// <summary>Whether a snapshot has taken the state, or the writer was disposed.</summary>
    public bool IsFinished => _finished;

    public override bool CanRead => false;

    public override bool CanSeek => !_finished;

    public override bool CanWrite => !_finished;

    /// <summary>The size of the state: the end of the furthest write, or what <see cref="SetLength"/> set.</summary>
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

    /// <summary>Writes <paramref name="data"/> at <paramref name="position"/> of the state; the stream position does not move.</summary>
    public void WriteAt(long position, ReadOnlySpan<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ObjectDisposedException.ThrowIf(_finished, this);
        if (data.IsEmpty)
        {
            return;
        }

        _image.WriteVmState(this, position, data);
        _length = Math.Max(_length, position + data.Length);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        WriteAt(_position, buffer);
        _position += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Extends the state with zeroes that take no space; a state never shrinks.</summary>
    public override void SetLength(long value)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (value < _length)
        {
            throw new NotSupportedException("a VM state being written cannot shrink");
        }

        _image.CheckVmStateFits(value, 0);
        _length = value;
    }

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

    /// <summary>Nothing to do: the snapshot that takes the state makes it durable with itself.</summary>
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("a VM state writer cannot be read; open the snapshot's state with Qcow2Image.OpenVmState");

    /// <summary>Called by the image when a snapshot took the state or it was discarded.</summary>
    internal void Finish() => _finished = true;

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_finished)
        {
            _image.DiscardVmState(this);
        }

        base.Dispose(disposing);
    }
}
