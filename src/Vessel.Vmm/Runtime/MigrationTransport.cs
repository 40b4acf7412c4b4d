using System.Diagnostics;
using System.Net.Sockets;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// The destination of an outgoing state: a stream to write it to (a socket, a command's standard
/// input, or a new file beside the target) and what to do once it is complete or abandoned.
/// </summary>
internal sealed class OutgoingStateChannel : IDisposable
{
    /// <summary>
    /// The byte a destination VMM sends back on the connection once it has read a whole, valid
    /// state (ASCII ACK). Without it the source does not complete: a connection cut after the
    /// source's last write, or a destination that could not restore, would otherwise leave the
    /// source stopped in postmigrate and the VM running nowhere.
    /// </summary>
    internal const byte StateReceived = 0x06;

    /// <summary>
    /// The socket buffer each end of a tcp: migration asks for (Linux doubles it for its own
    /// bookkeeping). Left to autotuning, the buffers grow to megabytes: the destination was then
    /// 4 MiB and 16 ms behind the source when the guest stopped, time spent inside the downtime.
    /// A few hundred KiB still cover a LAN's bandwidth-delay product.
    /// </summary>
    internal const int SocketBufferBytes = 256 * 1024;

    /// <summary>How long the source waits for <see cref="StateReceived"/> after its last byte.</summary>
    private static readonly TimeSpan s_receiptTimeout = TimeSpan.FromSeconds(60);

    private readonly Action? _commit;
    private readonly Action? _abandon;
    private readonly IDisposable[] _owned;

    private OutgoingStateChannel(Stream stream, Action? commit, Action? abandon, params IDisposable[] owned)
    {
        Stream = stream;
        _commit = commit;
        _abandon = abandon;
        _owned = owned;
    }

    public Stream Stream { get; }

    /// <summary>Whether the state goes into a file (which gets RAM as a mappable region).</summary>
    public bool IsFile => Stream is FileStream;

    /// <summary>Opens the channel; the message of an exception is one sentence.</summary>
    public static OutgoingStateChannel Open(MigrationAddress address)
    {
        switch (address.Transport)
        {
            case MigrationTransport.File:
            {
                string full = Path.GetFullPath(address.Path);
                string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.partial");
                var file = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
                return new OutgoingStateChannel(
                    file,
                    commit: () =>
                    {
                        // Synced, then renamed over the target: a crash leaves the old file or the new one.
                        file.Flush(flushToDisk: true);
                        file.Dispose();
                        File.Move(temporary, full, overwrite: true);
                    },
                    abandon: () =>
                    {
                        file.Dispose();
                        File.Delete(temporary);
                    },
                    file);
            }

            case MigrationTransport.Unix:
            case MigrationTransport.Tcp:
            {
                var socket = address.Transport == MigrationTransport.Unix
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = SocketBufferBytes };
                try
                {
                    socket.Connect(address.ToEndPoint());
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw new IOException($"cannot connect to {address}: {e.Message.TrimEnd('.')}", e);
                }

                var network = new NetworkStream(socket, ownsSocket: true);
                // 64 KiB, not 1 MiB: what the buffer still holds when the guest stops is sent
                // while it is stopped (the busy 256 MiB guest's downtime went from ~1.0 to
                // 0.3-0.6x QEMU's with both ends' buffers cut so).
                var buffered = new BufferedStream(network, 1 << 16);
                return new OutgoingStateChannel(buffered, commit: () => AwaitReceipt(buffered, socket), abandon: null, buffered, network);
            }

            case MigrationTransport.Exec:
            {
                var start = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add(address.Path);
                Process process = Process.Start(start) ?? throw new IOException($"cannot run '{address.Path}'");
                Stream input = process.StandardInput.BaseStream;
                var buffered = new BufferedStream(input, 1 << 20);
                return new OutgoingStateChannel(
                    buffered,
                    commit: () =>
                    {
                        buffered.Flush();
                        input.Dispose();
                        process.WaitForExit();
                        if (process.ExitCode != 0)
                        {
                            throw new IOException($"'{address.Path}' failed with exit code {process.ExitCode}");
                        }
                    },
                    abandon: () =>
                    {
                        if (!process.HasExited)
                        {
                            process.Kill();
                        }
                    },
                    buffered,
                    process);
            }

            default:
                throw new IOException($"a state cannot be sent to {address}");
        }
    }

    /// <summary>Sends the rest of the state and waits until the destination says it has all of it (<see cref="StateReceived"/>).</summary>
    private static void AwaitReceipt(BufferedStream buffered, Socket socket)
    {
        buffered.Flush();
        socket.Shutdown(SocketShutdown.Send);
        socket.ReceiveTimeout = (int)s_receiptTimeout.TotalMilliseconds;
        Span<byte> reply = stackalloc byte[1];
        int read;
        try
        {
            read = socket.Receive(reply);
        }
        catch (SocketException e)
        {
            throw new IOException($"the destination did not confirm that it had the whole state ({e.Message.TrimEnd('.')})", e);
        }

        if (read == 0 || reply[0] != StateReceived)
        {
            throw new IOException("the destination closed the connection without confirming that it had the whole state (a receiver other than a Vessel VMM takes a state through exec: or file:)");
        }
    }

    /// <summary>The state is complete: flush it and make it visible (rename a file, wait for a command, hear from the destination).</summary>
    public void Commit() => _commit?.Invoke();

    /// <summary>The state will not be completed: remove what was written where possible.</summary>
    public void Abandon()
    {
        try
        {
            _abandon?.Invoke();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Best effort: the migration has failed already and says why.
        }
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            try
            {
                owned.Dispose();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A broken socket or pipe, or one closed already by the commit: the migration
                // reports the failure that mattered.
            }
        }
    }
}
