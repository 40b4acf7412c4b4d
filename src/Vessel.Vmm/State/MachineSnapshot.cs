using Vessel.Machine.Memory;
using Vessel.Machine.Persistence;
using Vessel.Vmm.Boards.RiscvVirt;

namespace Vessel.Vmm.State;

/// <summary>
/// Saves a paused machine whole (its parts' sections and RAM) and restores one. A file gets RAM
/// as one region that a restore maps copy-on-write; a stream gets page records. Restoring reads
/// either, from a file or from any stream.
/// </summary>
public static class MachineSnapshot
{
    /// <summary>
    /// Writes the paused <paramref name="machine"/> to <paramref name="path"/>: to a new file beside
    /// it, synced, then renamed over it, so a crash leaves the old file or the new one, never half.
    /// </summary>
    public static SnapshotFigures SaveToFile(RiscvVirtMachine machine, string path)
    {
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.partial");
        try
        {
            SnapshotFigures figures;
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                var writer = new StateWriter(file);
                MachineStateCodec.WriteIdentity(writer, machine.Identity);
                MappedRamRegion region = writer.BeginMappedRam(machine.Memory.Base, machine.Memory.Size);
                long pages = RamTransfer.SendNonZero(machine.Memory, new RegionRamSink(region));
                MachineStateCodec.WriteParts(writer, machine.SaveState());
                writer.WriteEnd();
                file.Flush(flushToDisk: true);
                figures = new SnapshotFigures(pages, AllocatedBytes(file));
            }

            File.Move(temporary, full, overwrite: true);
            return figures;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the paused <paramref name="machine"/> to a stream as page records and sections.</summary>
    public static SnapshotFigures SaveToStream(RiscvVirtMachine machine, Stream stream)
    {
        var writer = new StateWriter(stream);
        MachineStateCodec.WriteIdentity(writer, machine.Identity);
        long pages = RamTransfer.SendNonZero(machine.Memory, new StreamRamSink(writer));
        MachineStateCodec.WriteParts(writer, machine.SaveState());
        writer.WriteEnd();
        return new SnapshotFigures(pages, writer.BytesWritten);
    }

    /// <summary>
    /// Restores the paused <paramref name="machine"/> from <paramref name="source"/>; RAM in a
    /// file's region is mapped, not copied. A state found broken half-way leaves the machine
    /// half restored: a running VM checks a state with <see cref="Verify"/> first (loadvm); a VMM
    /// that waits for its state ends anyway when it cannot have it.
    /// </summary>
    /// <exception cref="StateFormatException">The state cannot be read (one sentence).</exception>
    /// <exception cref="VmmException">The state is of another machine configuration.</exception>
    public static void Restore(RiscvVirtMachine machine, Stream source) => Read(machine, source, apply: true);

    /// <summary>
    /// Saves the paused machine to memory and restores it from there, so that a process waiting
    /// for its state has every method on the restore path compiled before the state arrives
    /// (the first call of a .NET method pays for its compilation). Meant for a machine that has
    /// not run yet: its state is the same before and after.
    /// </summary>
    public static void WarmUp(RiscvVirtMachine machine)
    {
        // Without RAM: scanning it would cost more than all the rest.
        using var stream = new MemoryStream();
        var writer = new StateWriter(stream);
        MachineStateCodec.WriteIdentity(writer, machine.Identity);
        MachineStateCodec.WriteParts(writer, machine.SaveState());
        writer.WriteEnd();
        stream.Position = 0;
        Verify(machine, stream);
        stream.Position = 0;
        Restore(machine, stream);

        // A machine that arrives may well leave again the same way.
        SentPageHashes.StartWarmUp();
    }

    /// <summary>
    /// Writes <paramref name="state"/> (a state captured before the machine first ran) and a few
    /// page records to nowhere, so that the first live migration or save of this process does
    /// not compile the save path while its guest is stopped. Touches nothing of the machine.
    /// </summary>
    public static void WarmUpSave(RiscvVirtMachine machine, MachineState state)
    {
        var writer = new StateWriter(Stream.Null);
        MachineStateCodec.WriteIdentity(writer, machine.Identity);
        byte[] page = new byte[GuestMemory.PageSize];
        page[0] = 1;
        var sink = new StreamRamSink(writer);
        sink.WritePages(machine.Memory.Base, page);
        sink.WriteZeroPages(machine.Memory.Base, 1);
        MachineStateCodec.WriteParts(writer, state);
        writer.WriteEnd();
        SentPageHashes.StartWarmUp();
    }

    /// <summary>Reads a whole state without changing the machine: whether it is complete, intact and of this machine's configuration.</summary>
    /// <exception cref="StateFormatException">The state cannot be read (one sentence).</exception>
    /// <exception cref="VmmException">The state is of another machine configuration.</exception>
    public static void Verify(RiscvVirtMachine machine, Stream source) => Read(machine, source, apply: false);

    private static void Read(RiscvVirtMachine machine, Stream source, bool apply)
    {
        var reader = new StateReader(source);
        if (reader.Next() != StateRecordKind.Section)
        {
            throw new StateFormatException($"it does not begin with the '{MachineStateCodec.MachineSection}' section.");
        }

        MachineIdentity identity = MachineStateCodec.ReadIdentity(reader.SectionName, reader.SectionVersion, reader.SectionPayload);
        string? mismatch = machine.Identity.MismatchWith(identity);
        if (mismatch is not null)
        {
            throw new VmmException(mismatch);
        }

        GuestMemory memory = machine.Memory;
        if (apply)
        {
            machine.Processor.ForgetCode();
            memory.Clear();
        }

        var parts = new MachineStateCodec.PartsReader(identity);
        var blocks = new Vessel.Vmm.Runtime.BlockReceiver(machine.HandoverDisks, apply);
        while (true)
        {
            switch (reader.Next())
            {
                case StateRecordKind.Section when Vessel.Vmm.Runtime.BlockReceiver.Handles(reader.SectionName):
                    blocks.Apply(reader.SectionName, reader.SectionVersion, reader.SectionPayload);
                    break;

                case StateRecordKind.Section:
                    parts.Add(reader.SectionName, reader.SectionVersion, reader.SectionPayload);
                    break;

                case StateRecordKind.Pages:
                    ulong length = (ulong)reader.PageCount * GuestMemory.PageSize;
                    if (!memory.Contains(reader.PagesAddress, length))
                    {
                        throw new StateFormatException($"it has pages at 0x{reader.PagesAddress:x} outside this machine's RAM.");
                    }

                    if (reader.PagesCopiedFrom is ulong copiedFrom && !memory.Contains(copiedFrom, length))
                    {
                        throw new StateFormatException($"it copies pages from 0x{copiedFrom:x}, outside this machine's RAM.");
                    }

                    if (apply && reader.PagesAreZero)
                    {
                        memory.ZeroPages(reader.PagesAddress, length);
                    }
                    else if (apply && reader.PagesCopiedFrom is ulong from)
                    {
                        memory.PrepareForWrite(reader.PagesAddress, (int)length);
                        memory.GetReadSpan(from, (int)length).CopyTo(memory.GetWriteSpan(reader.PagesAddress, (int)length));
                    }
                    else if (apply)
                    {
                        memory.PrepareForWrite(reader.PagesAddress, (int)length);
                        reader.PageData.CopyTo(memory.GetWriteSpan(reader.PagesAddress, (int)length));
                    }

                    break;

                case StateRecordKind.MappedRam:
                    if (reader.MappedRam.RamBase != memory.Base || reader.MappedRam.RamSize != memory.Size)
                    {
                        throw new StateFormatException("its RAM region does not match the machine's RAM.");
                    }

                    if (reader.SkipMappedRegion())
                    {
                        if (apply)
                        {
                            memory.MapFile(((FileStream)source).Name, reader.MappedRam.DataOffset);
                        }
                    }
                    else
                    {
                        reader.ReadMappedRegion(apply ? memory.WriteBytes : static (_, _) => { });
                    }

                    break;

                case StateRecordKind.End:
                    blocks.Finish();
                    MachineState state = parts.Build();
                    if (apply)
                    {
                        machine.RestoreState(state);
                    }

                    return;
            }
        }
    }

    /// <summary>What the file really takes on disk: holes (zero RAM) are not counted.</summary>
    private static long AllocatedBytes(FileStream file) => Vessel.Storage.FileAllocation.AllocatedBytes(file.SafeFileHandle);
}

/// <summary>What a save wrote: RAM pages and the bytes the state takes.</summary>
public readonly record struct SnapshotFigures(long Pages, long Bytes);
