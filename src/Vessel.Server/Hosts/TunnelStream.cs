using Google.Protobuf;
using Grpc.Core;
using Vessel.Server.Hosts.Channel;

namespace Vessel.Server.Hosts;

/// <summary>
/// A byte stream carried by a gRPC stream of <see cref="TunnelChunk"/>s, both ways: what the
/// manager reads and writes to reach a VMM's socket on an agent's host (and what the agent pumps
/// to that socket). The end of the reading direction is the end of the stream (0 from a read);
/// disposing completes the writing direction (<paramref name="complete"/>) and cancels the call.
/// </summary>
public sealed class TunnelStream(IAsyncStreamReader<TunnelChunk> reader, IAsyncStreamWriter<TunnelChunk> writer, Func<Task>? complete, CancellationTokenSource call) : Stream
{
    // gRPC allows one write at a time on a stream; QMP commands and console input may meet.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private ReadOnlyMemory<byte> _pending;
    private bool _ended;
    private int _disposed;

    /// <summary>The most a chunk carries: gRPC's messages stay well under its 4 MiB default limit.</summary>
    public const int ChunkBytes = 64 * 1024;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_pending.IsEmpty)
        {
            if (_ended)
            {
                return 0;
            }

            try
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Token);
                if (!await reader.MoveNext(linked.Token))
                {
                    _ended = true;
                    return 0;
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The other side went away (the agent's connection, the manager): the stream ends.
                _ended = true;
                return 0;
            }

            _pending = reader.Current.Data.Memory;
        }

        int count = Math.Min(buffer.Length, _pending.Length);
        _pending[..count].CopyTo(buffer);
        _pending = _pending[count..];
        return count;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            while (!buffer.IsEmpty)
            {
                int count = Math.Min(buffer.Length, ChunkBytes);
                try
                {
                    await writer.WriteAsync(new TunnelChunk { Data = ByteString.CopyFrom(buffer.Span[..count]) }, cancellationToken);
                }
                catch (Exception e) when (e is RpcException or InvalidOperationException)
                {
                    throw new IOException("the tunnel to the agent's host closed", e);
                }

                buffer = buffer[count..];
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (complete is not null)
        {
            try
            {
                await _writeGate.WaitAsync(TimeSpan.FromSeconds(5));
                await complete().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or TimeoutException or OperationCanceledException)
            {
            }
        }

        EndCall();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            EndCall();
        }

        base.Dispose(disposing);
    }

    private void EndCall()
    {
        try
        {
            call.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended first (the other side went away) and its handler is gone.
        }
    }
}
