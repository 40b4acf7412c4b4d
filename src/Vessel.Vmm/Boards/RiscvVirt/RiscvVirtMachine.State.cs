using Vessel.Cpu.Riscv;
using Vessel.Machine.Virtio.Mmio;
using Vessel.Vmm.State;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// Pausing, resetting in place, saving and restoring. A pause parks every hart between two
/// slices, lets every virtio device finish the requests it has in flight and stop, holds console
/// input, and stops the virtual clock; only then is the machine's state a consistent picture.
/// </summary>
public sealed partial class RiscvVirtMachine
{
    private volatile bool _paused;

    /// <summary>Whether the machine is paused (harts parked, devices idle, clock stopped).</summary>
    public bool IsPaused => _paused;

    /// <summary>What a saved state of this machine must match to be restored here.</summary>
    public MachineIdentity Identity => new()
    {
        Board = MachineIdentity.RiscvVirtBoard,
        MemorySize = _memory.Size,
        Harts = _processor.Harts.Count,
        Firmware = _configuration.Firmware.ToString().ToLowerInvariant(),
        Devices = _virtioTransports.Select((transport, i) => new MachineSlot(_virtioSlots[i], VirtioName(transport.Device.DeviceType))).ToArray(),
    };

    /// <summary>
    /// Stops the guest: parks the harts, drains and stops the devices, stops the clock. Thread-safe;
    /// returns once nothing of the guest runs. Does nothing when already paused.
    /// </summary>
    public void Pause()
    {
        lock (_exitGate)
        {
            if (_paused)
            {
                return;
            }

            _paused = true;
        }

        _scheduler.Pause();
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Pause(); // waits for the requests in flight: they complete, none is lost
        }

        // As QEMU's vm_stop flushes every block device: a paused VM's disk files are whole on
        // their own (metadata written back), so another process may copy them while it waits.
        foreach (Vessel.Vmm.Storage.HandoverDisk disk in _disks)
        {
            if (disk.IsActive && !disk.IsReadOnly)
            {
                disk.Flush();
            }
        }

        _clock.Pause();
    }

    /// <summary>Lets the guest run on from where <see cref="Pause"/> stopped it. Thread-safe.</summary>
    public void Resume()
    {
        lock (_exitGate)
        {
            if (!_paused)
            {
                return;
            }

            _paused = false;
        }

        _clock.Resume();
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Resume();
        }

        _scheduler.Resume();
        _console.NotifyInputSpace(); // input held while paused goes in now
    }

    /// <summary>
    /// A power cycle without rebuilding the board: every device returns to its power-on state
    /// (disks stay open, network backends stay bound, port forwards keep listening), RAM is
    /// cleared and the guest boots again. Call when <see cref="Run"/> has returned, or while paused.
    /// </summary>
    public void ResetInPlace()
    {
        lock (_exitGate)
        {
            _exit = null;
        }

        _scheduler.ClearStopRequest();
        foreach (Hart hart in _processor.Harts)
        {
            hart.Reset(0);
        }

        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Reset();
        }

        _uart.Reset();
        _plic.Reset();
        _clint.Reset();
        _rtc.Reset();
        _processor.ForgetCode();
        _memory.Clear();
        Boot();
    }

    /// <summary>
    /// Starts recording every write to guest RAM (live saves and migrations): the harts are parked
    /// for a moment so that each one's next store to any page goes through the slow path, which
    /// logs it.
    /// </summary>
    public void StartDirtyLog(Span<ulong> scratch)
    {
        _scheduler.Pause();
        try
        {
            _memory.DirtyLogging = true;
            _memory.TakeDirtyBitmap(scratch);
            _processor.DropFastStorePaths();
        }
        finally
        {
            _scheduler.Resume();
        }
    }

    /// <summary>
    /// Moves the pages written since the last call into <paramref name="bitmap"/> (one bit a page)
    /// and returns their number. The harts are parked for the moment it takes, so no store can
    /// slip past the log through a fast path made before its page's bit was cleared.
    /// </summary>
    public long TakeDirtyLog(Span<ulong> bitmap)
    {
        _scheduler.Pause();
        try
        {
            long count = _memory.TakeDirtyBitmap(bitmap);
            _processor.DropFastStorePaths();
            return count;
        }
        finally
        {
            _scheduler.Resume();
        }
    }

    /// <summary>Stops recording writes to guest RAM.</summary>
    public void StopDirtyLog() => _memory.DirtyLogging = false;

    /// <summary>Slows the harts down to let a migration converge (0 to 99 % of the time asleep).</summary>
    public int ThrottlePercent
    {
        get => _scheduler.ThrottlePercent;
        set => _scheduler.ThrottlePercent = value;
    }

    /// <summary>After a restore into a running VMM: network backends drop connections that belonged to the guest's other moment.</summary>
    public void ResetNetworkConnections()
    {
        foreach (Vessel.Network.INetworkBackend backend in _networkBackends)
        {
            backend.ResetConnections();
        }
    }

    /// <summary>After a migration's guest starts running here: network backends announce it (<see cref="Vessel.Network.INetworkBackend.Announce"/>).</summary>
    public void AnnounceNetworks()
    {
        foreach (Vessel.Network.INetworkBackend backend in _networkBackends)
        {
            backend.Announce();
        }
    }

    /// <summary>Takes the state of every part but RAM. The machine must be paused.</summary>
    public MachineState SaveState()
    {
        RequirePaused();
        if (_clock.CountsInstructions)
        {
            // The deterministic mode goes on from a save exactly as a restore of it would.
            _processor.ResetDerivedState();
        }

        return CaptureState();
    }

    /// <summary>Steps the paused machine by <paramref name="instructions"/> (deterministic mode only) and returns how many ran.</summary>
    public long Step(long instructions)
    {
        RequirePaused();
        _clock.Resume();
        foreach (VirtioMmioTransport transport in _virtioTransports)
        {
            transport.Resume();
        }

        try
        {
            return _scheduler.Step(instructions);
        }
        finally
        {
            foreach (VirtioMmioTransport transport in _virtioTransports)
            {
                transport.Pause();
            }

            _clock.Pause();
        }
    }

    /// <summary>The SHA-256 of the paused machine's whole state: every part and all of RAM (tests compare runs by it).</summary>
    public byte[] HashState()
    {
        RequirePaused();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using (var sink = new HashingStream(hash))
        {
            var writer = new Vessel.Machine.Persistence.StateWriter(sink);
            MachineStateCodec.WriteParts(writer, CaptureState());
        }

        const int Chunk = 1 << 20;
        for (ulong offset = 0; offset < _memory.Size; offset += Chunk)
        {
            hash.AppendData(_memory.GetReadSpan(_memory.Base + offset, (int)Math.Min(Chunk, _memory.Size - offset)));
        }

        return hash.GetHashAndReset();
    }

    /// <summary>
    /// The state of a machine that has not begun to run (nothing moves it yet, so it needs no
    /// pause): what a warm-up of the save path serialises, off the record.
    /// </summary>
    /// <exception cref="InvalidOperationException">The machine has run already.</exception>
    public MachineState CaptureStateBeforeFirstRun()
    {
        if (_started)
        {
            throw new InvalidOperationException("The machine has run already: its state is captured paused, with SaveState.");
        }

        return CaptureState();
    }

    private MachineState CaptureState()
    {
        return new MachineState
        {
            Identity = Identity,
            ClockTicks = _clock.Now,
            ClockPendingInstructions = _clock.PendingInstructions,
            Harts = _processor.Harts.Select(hart => hart.SaveState()).ToArray(),
            Clint = _clint.SaveState(),
            Plic = _plic.SaveState(),
            Uart = _uart.SaveState(),
            Rtc = _rtc.SaveState(),
            Virtio = _virtioTransports.Select((transport, i) => new VirtioSlotState(_virtioSlots[i], transport.SaveState())).ToArray(),
        };
    }

    /// <summary>
    /// Brings every part but RAM back to <paramref name="state"/>. The machine must be paused and
    /// RAM already restored (with <see cref="Vessel.Machine.Memory.GuestMemory.MapFile"/> or by
    /// copying pages in); it runs on from the saved moment after <see cref="Resume"/>.
    /// </summary>
    /// <exception cref="VmmException">The state is of a different machine configuration.</exception>
    public void RestoreState(MachineState state)
    {
        RequirePaused();
        string? mismatch = Identity.MismatchWith(state.Identity);
        if (mismatch is not null)
        {
            throw new VmmException(mismatch);
        }

        lock (_exitGate)
        {
            _exit = null;
        }

        _scheduler.ClearStopRequest();
        _processor.ResetDerivedState();
        _clock.Set(state.ClockTicks, state.ClockPendingInstructions);
        if (_configuration.Firmware == FirmwareKind.Builtin)
        {
            _processor.UseBuiltinFirmware(this);
        }

        for (int i = 0; i < state.Harts.Count; i++)
        {
            _processor.Harts[i].RestoreState(state.Harts[i]);
        }

        // Devices after the harts: restoring them drives the harts' interrupt pins again.
        _clint.RestoreState(state.Clint);
        _plic.RestoreState(state.Plic);
        _uart.RestoreState(state.Uart);
        _rtc.RestoreState(state.Rtc);
        foreach (VirtioSlotState slot in state.Virtio)
        {
            _virtioTransports[_virtioSlots.IndexOf(slot.Slot)].RestoreState(slot.Transport);
        }
    }

    private void RequirePaused()
    {
        if (!_paused)
        {
            throw new InvalidOperationException("The machine must be paused to save or restore its state.");
        }
    }

    private static string VirtioName(Vessel.Machine.Virtio.VirtioDeviceType type) => type switch
    {
        Vessel.Machine.Virtio.VirtioDeviceType.Block => "virtio-blk",
        Vessel.Machine.Virtio.VirtioDeviceType.Network => "virtio-net",
        Vessel.Machine.Virtio.VirtioDeviceType.Entropy => "virtio-rng",
        Vessel.Machine.Virtio.VirtioDeviceType.Balloon => "virtio-balloon",
        Vessel.Machine.Virtio.VirtioDeviceType.Console => "virtio-console",
        Vessel.Machine.Virtio.VirtioDeviceType.Scsi => "virtio-scsi",
        Vessel.Machine.Virtio.VirtioDeviceType.Gpu => "virtio-gpu",
        Vessel.Machine.Virtio.VirtioDeviceType.Input => "virtio-input",
        _ => $"virtio-{(int)type}",
    };

    /// <summary>A write-only stream that feeds a hash.</summary>
    private sealed class HashingStream(System.Security.Cryptography.IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => hash.AppendData(buffer);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
