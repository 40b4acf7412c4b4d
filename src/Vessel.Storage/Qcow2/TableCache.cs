using Vessel.Storage.Host;

namespace Vessel.Storage.Qcow2;

/// <summary>
/// A write-back LRU cache of cluster-sized metadata tables (L2 tables or refcount blocks), keyed
/// by host offset. Tables are kept in their on-disk (big-endian) form so a write-back is one
/// pwrite. Before any dirty table reaches the disk the <see cref="BeforeWriteBack"/> hook runs:
/// that is where the L2 cache makes sure the refcounts it depends on are on disk first.
/// Not thread-safe: the owning image serialises access.
/// </summary>
internal sealed class TableCache
{
    private readonly HostFile _file;
    private readonly int _tableSize;
    private readonly int _capacity;
    private readonly List<byte[]> _tables = [];
    private readonly List<long> _offsets = [];
    private readonly List<long> _lastUse = [];
    private readonly List<bool> _dirty = [];
    private readonly Dictionary<long, int> _index = [];
    private readonly List<int> _writeOrder = [];
    private long _clock;
    private int _dirtyCount;
    private int _mru = -1;

    public TableCache(HostFile file, int tableSize, int capacity)
    {
        _file = file;
        _tableSize = tableSize;
        _capacity = Math.Max(2, capacity);
    }

    /// <summary>Runs before any dirty table is written (ordering dependency).</summary>
    public Action? BeforeWriteBack { get; set; }

    public bool HasDirty => _dirtyCount > 0;

    public bool Contains(long offset) => _index.ContainsKey(offset);

    public IEnumerable<long> CachedOffsets => _index.Keys;

    /// <summary>The slot holding the table at <paramref name="offset"/>, read from disk on a miss.</summary>
    public int Get(long offset)
    {
        if (_mru >= 0 && _offsets[_mru] == offset)
        {
            _lastUse[_mru] = ++_clock;
            return _mru;
        }

        if (_index.TryGetValue(offset, out int slot))
        {
            _lastUse[slot] = ++_clock;
            _mru = slot;
            return slot;
        }

        slot = TakeSlot(offset);
        _file.ReadZeroPadded(offset, _tables[slot]);
        return slot;
    }

    /// <summary>A slot for a table newly allocated at <paramref name="offset"/>: zero-filled and dirty, never read.</summary>
    public int Create(long offset)
    {
        if (!_index.TryGetValue(offset, out int slot))
        {
            slot = TakeSlot(offset);
        }

        _tables[slot].AsSpan().Clear();
        _lastUse[slot] = ++_clock;
        _mru = slot;
        MarkDirty(slot);
        return slot;
    }

    /// <summary>Puts a table that is already on disk into the cache as clean.</summary>
    public void Insert(long offset, ReadOnlySpan<byte> content)
    {
        if (!_index.TryGetValue(offset, out int slot))
        {
            slot = TakeSlot(offset);
        }

        content.CopyTo(_tables[slot]);
        if (_dirty[slot])
        {
            _dirty[slot] = false;
            _dirtyCount--;
        }
    }

    public Span<byte> Table(int slot) => _tables[slot];

    public byte[] TableArray(int slot) => _tables[slot];

    public long OffsetOf(int slot) => _offsets[slot];

    public void MarkDirty(int slot)
    {
        if (!_dirty[slot])
        {
            _dirty[slot] = true;
            _dirtyCount++;
        }
    }

    /// <summary>Writes every dirty table (in offset order); returns whether anything was written.</summary>
    public bool WriteBack()
    {
        if (_dirtyCount == 0)
        {
            return false;
        }

        BeforeWriteBack?.Invoke();
        List<int> slots = _writeOrder;
        slots.Clear();
        for (int i = 0; i < _tables.Count; i++)
        {
            if (_dirty[i])
            {
                slots.Add(i);
            }
        }

        slots.Sort((a, b) => _offsets[a].CompareTo(_offsets[b]));
        foreach (int slot in slots)
        {
            _file.Write(_offsets[slot], _tables[slot]);
            _dirty[slot] = false;
            _dirtyCount--;
        }

        return true;
    }

    /// <summary>Forgets a table whose cluster was freed; its content no longer matters.</summary>
    public void Drop(long offset)
    {
        if (!_index.Remove(offset, out int slot))
        {
            return;
        }

        if (_dirty[slot])
        {
            _dirty[slot] = false;
            _dirtyCount--;
        }

        _offsets[slot] = -1;
        _lastUse[slot] = 0;
        if (_mru == slot)
        {
            _mru = -1;
        }
    }

    /// <summary>Forgets everything without writing (after the tables were rewritten on disk by other means).</summary>
    public void Clear()
    {
        if (_dirtyCount != 0)
        {
            throw new InvalidOperationException("cannot clear a cache with dirty tables");
        }

        _index.Clear();
        for (int i = 0; i < _offsets.Count; i++)
        {
            _offsets[i] = -1;
            _lastUse[i] = 0;
        }

        _mru = -1;
    }

    private int TakeSlot(long offset)
    {
        int slot;
        if (_tables.Count < _capacity)
        {
            slot = _tables.Count;
            _tables.Add(new byte[_tableSize]);
            _offsets.Add(-1);
            _lastUse.Add(0);
            _dirty.Add(false);
        }
        else
        {
            slot = 0;
            for (int i = 1; i < _tables.Count; i++)
            {
                if (_lastUse[i] < _lastUse[slot])
                {
                    slot = i;
                }
            }

            if (_dirty[slot])
            {
                BeforeWriteBack?.Invoke();
                _file.Write(_offsets[slot], _tables[slot]);
                _dirty[slot] = false;
                _dirtyCount--;
            }

            if (_offsets[slot] >= 0)
            {
                _index.Remove(_offsets[slot]);
            }
        }

        _offsets[slot] = offset;
        _lastUse[slot] = ++_clock;
        _index[offset] = slot;
        _mru = slot;
        return slot;
    }
}
