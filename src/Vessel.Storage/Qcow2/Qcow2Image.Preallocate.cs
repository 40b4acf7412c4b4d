namespace Vessel.Storage.Qcow2;

/// <summary>Preallocation at creation: every guest cluster gets its L2 entry and host cluster up front.</summary>
public sealed partial class Qcow2Image
{
    internal void Preallocate(Preallocation mode)
    {
        Guarded(() =>
        {
            EnsureWritable();
            long clusters = _g.ClustersFor(Length);
            for (long cluster = 0; cluster < clusters;)
            {
                long l1Index = cluster >> _g.L2Bits;
                int l2Index = (int)(cluster & (_g.L2Entries - 1));
                int count = (int)Math.Min(_g.L2Entries - l2Index, clusters - cluster);
                int slot = GetL2SlotForWrite(l1Index);
                long l2Offset = _l2Cache.OffsetOf(slot);
                long host = _refcounts.AllocateClusters(count);
                EnsureFileCoversAllocations();
                long bytes = (long)count << _g.ClusterBits;
                if (mode == Preallocation.Falloc)
                {
                    _file.Allocate(host, bytes);
                }
                else if (mode == Preallocation.Full)
                {
                    for (long done = 0; done < bytes; done += _g.ClusterSize)
                    {
                        WriteHostData(host + done, ZeroCluster);
                    }
                }

                slot = _l2Cache.Get(l2Offset);
                Span<byte> table = _l2Cache.Table(slot);
                for (int i = 0; i < count; i++)
                {
                    WriteL2(table, l2Index + i, (ulong)(host + ((long)i << _g.ClusterBits)) | L2Entry.Copied);
                    if (_g.ExtendedL2)
                    {
                        WriteL2Bitmap(table, l2Index + i, L2Entry.AllAllocated);
                    }
                }

                _l2Cache.MarkDirty(slot);
                cluster += count;
            }

            FlushMetadata();
            _file.DataSync();
        });
    }
}
