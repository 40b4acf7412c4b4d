namespace Vessel.Machine.Bus;

/// <summary>
/// The memory-mapped I/O bus: a sorted set of non-overlapping windows, each owned by one
/// device. Lookups are a binary search over an immutable array, so the bus can be read from
/// any number of vCPU threads without locks.
/// </summary>
public sealed class MmioBus
{
    private MmioRegion[] _regions = [];

    public IReadOnlyList<MmioRegion> Regions => _regions;

    /// <summary>Maps <paramref name="device"/> at [<paramref name="baseAddress"/>, +<paramref name="size"/>).</summary>
    public void Map(ulong baseAddress, ulong size, IMmioDevice device, string name)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (size == 0 || baseAddress + size < baseAddress)
        {
            throw new ArgumentException($"MMIO window for {name} is empty or wraps around.");
        }

        foreach (MmioRegion existing in _regions)
        {
            if (baseAddress < existing.End && existing.Base < baseAddress + size)
            {
                throw new InvalidOperationException($"MMIO window for {name} overlaps {existing.Name}.");
            }
        }

        var regions = new List<MmioRegion>(_regions) { new(baseAddress, size, device, name) };
        regions.Sort((a, b) => a.Base.CompareTo(b.Base));
        _regions = [.. regions];
    }

    /// <summary>Finds the window that contains <paramref name="address"/>.</summary>
    public bool TryFind(ulong address, out MmioRegion region)
    {
        MmioRegion[] regions = _regions;
        int lo = 0, hi = regions.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            MmioRegion candidate = regions[mid];
            if (address < candidate.Base)
            {
                hi = mid - 1;
            }
            else if (address >= candidate.End)
            {
                lo = mid + 1;
            }
            else
            {
                region = candidate;
                return true;
            }
        }

        region = null!;
        return false;
    }

    /// <summary>Reads from the device at <paramref name="address"/>; false when nothing is mapped there.</summary>
    public bool TryRead(ulong address, int size, out ulong value)
    {
        if (TryFind(address, out MmioRegion region) && address + (ulong)size <= region.End)
        {
            value = region.Device.Read(address - region.Base, size);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Writes to the device at <paramref name="address"/>; false when nothing is mapped there.</summary>
    public bool TryWrite(ulong address, int size, ulong value)
    {
        if (TryFind(address, out MmioRegion region) && address + (ulong)size <= region.End)
        {
            region.Device.Write(address - region.Base, size, value);
            return true;
        }

        return false;
    }
}

/// <summary>One device window on the bus.</summary>
public sealed record MmioRegion(ulong Base, ulong Size, IMmioDevice Device, string Name)
{
    public ulong End => Base + Size;
}
