namespace Vessel.Machine.Memory;

/// <summary>A guest-supplied address or length that does not lie inside guest RAM.</summary>
public sealed class GuestMemoryException(ulong address, ulong length)
    : Exception($"guest address range 0x{address:x}+0x{length:x} is outside guest RAM")
{
    public ulong Address { get; } = address;

    public ulong Length { get; } = length;
}
