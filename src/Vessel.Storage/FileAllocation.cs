using Microsoft.Win32.SafeHandles;
using Vessel.Storage.Host;

namespace Vessel.Storage;

/// <summary>How much of the host's disk a file really takes (its holes not counted), for sizes shown to users.</summary>
public static class FileAllocation
{
    /// <summary>The bytes an open file occupies (st_blocks * 512), or its length when the host cannot tell.</summary>
    public static long AllocatedBytes(SafeFileHandle handle) => HostFile.AllocatedBytes(handle) ?? RandomAccess.GetLength(handle);
}
