using Vessel.Machine.Persistence;
using Vessel.Vmm.Storage;

namespace Vessel.Vmm.Runtime;

/// <summary>
/// The destination's side of a block migration: checks that its disks are as many and as large
/// as the source's, takes them (the writer's lock: an image the source still holds, shared
/// storage, is refused rather than overwritten), and writes each chunk as it arrives.
/// </summary>
internal sealed class BlockReceiver(IReadOnlyList<HandoverDisk> disks, bool apply)
{
    private bool _sized;

    /// <summary>Whether <paramref name="section"/> is one of block migration's (and so handled here).</summary>
    public static bool Handles(string section) => section is BlockStateCodec.DisksSection or BlockStateCodec.ChunkSection;

    /// <exception cref="StateFormatException">The section is corrupt or out of order.</exception>
    /// <exception cref="VmmException">The destination's disks do not fit the source's, or one is in use elsewhere.</exception>
    public void Apply(string section, uint version, byte[] payload)
    {
        if (version != BlockStateCodec.Version)
        {
            throw new StateFormatException($"its '{section}' section is of version {version}, which this Vessel does not read.");
        }

        if (section == BlockStateCodec.DisksSection)
        {
            TakeDisks(BlockStateCodec.DecodeSizes(payload));
            return;
        }

        if (!_sized)
        {
            throw new StateFormatException("it has disk chunks before the list of disks.");
        }

        (int disk, long offset, int length, bool zero, ReadOnlyMemory<byte> data) = BlockStateCodec.DecodeChunk(payload);
        if (disk < 0 || disk >= disks.Count || offset + length > disks[disk].Length)
        {
            throw new StateFormatException($"it has a disk chunk outside the disks (disk {disk}, byte {offset}).");
        }

        if (!apply)
        {
            return;
        }

        if (zero)
        {
            disks[disk].WriteZeroes(offset, length, mayUnmap: true);
        }
        else
        {
            disks[disk].Write(offset, data.Span);
        }
    }

    /// <summary>
    /// At the end of the state: the disks written are flushed, before the source is told that
    /// the state arrived (it lets the VM go then, and its disks with it).
    /// </summary>
    public void Finish()
    {
        if (_sized && apply)
        {
            foreach (HandoverDisk disk in disks)
            {
                disk.Flush();
            }
        }
    }

    private void TakeDisks(long[] sizes)
    {
        if (sizes.Length != disks.Count)
        {
            throw new VmmException($"the source migrates {sizes.Length} disk(s) with it and this VM has {disks.Count}; give it empty images of the same sizes");
        }

        for (int i = 0; i < sizes.Length; i++)
        {
            if (sizes[i] != disks[i].Length)
            {
                throw new VmmException($"disk {i} ('{disks[i].Path}') is {disks[i].Length} bytes and the source's is {sizes[i]}; block migration needs images of the same sizes");
            }

            if (apply)
            {
                try
                {
                    disks[i].Activate(TimeSpan.Zero);
                }
                catch (VmmException)
                {
                    throw new VmmException($"block migration needs an image of its own for disk {i}, and '{disks[i].Path}' is in use by another VM (the source's, on shared storage?)");
                }
            }
        }

        _sized = true;
    }
}
