using System.Buffers.Binary;
using System.IO.Compression;
using Vessel.Cpu.Riscv.Decoding;
using Vessel.Machine.Memory;

namespace Vessel.Vmm.Boot;

/// <summary>
/// A kernel or firmware file as the loader sees it: a RISC-V Linux <c>Image</c> (placed where
/// its header asks), an ELF executable (loaded at its physical addresses, started at its entry)
/// or, for firmware only, a flat binary. gzip-compressed files are unpacked first.
/// </summary>
public sealed class BootImage
{
    private const uint LinuxImageMagic2 = 0x05435352; // "RSC\x05"
    private const int LinuxImageHeaderSize = 64;
    private const long MaxImageSize = 1L << 30;

    private BootImage(BootImageKind kind, byte[] data, string description)
    {
        Kind = kind;
        Data = data;
        Description = description;
    }

    public BootImageKind Kind { get; }

    public byte[] Data { get; }

    /// <summary>How errors refer to the file ("kernel file 'Image'").</summary>
    public string Description { get; }

    /// <summary>For a Linux Image: the offset from the start of RAM it wants to be loaded at.</summary>
    public ulong TextOffset => Kind == BootImageKind.LinuxImage ? BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(8)) : 0;

    /// <summary>Bytes of memory the image occupies once loaded (a Linux Image's header includes its bss).</summary>
    public ulong MemoryFootprint
    {
        get
        {
            if (Kind == BootImageKind.LinuxImage)
            {
                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(16));
                return Math.Max(size, (ulong)Data.Length);
            }

            return (ulong)Data.Length;
        }
    }

    /// <summary>Reads a kernel: a Linux Image or an ELF file. Anything else is refused.</summary>
    public static BootImage LoadKernel(string path)
    {
        string description = $"kernel file '{path}'";
        byte[] data = MaybeGunzip(ReadFile(path, description), description);
        if (ElfFile.HasElfMagic(data))
        {
            ElfFile.Parse(data, description);
            return new BootImage(BootImageKind.Elf, data, description);
        }

        if (IsLinuxImage(data))
        {
            return new BootImage(BootImageKind.LinuxImage, data, description);
        }

        throw new VmmException($"{description} is not a RISC-V kernel: expected a Linux Image (arch/riscv/boot/Image) or an ELF executable.");
    }

    /// <summary>
    /// Reads firmware: an ELF file or a flat binary loaded at the start of RAM. A flat binary
    /// runs from its first byte in M-mode, where a trap has nowhere to go: a file that cannot
    /// be RISC-V code there (text, or bytes that are no instruction) is refused here instead of
    /// leaving a hart spinning on the trap vector.
    /// </summary>
    public static BootImage LoadFirmware(string path)
    {
        string description = $"firmware file '{path}'";
        byte[] data = MaybeGunzip(ReadFile(path, description), description);
        if (ElfFile.HasElfMagic(data))
        {
            ElfFile.Parse(data, description);
            return new BootImage(BootImageKind.Elf, data, description);
        }

        if (IsLinuxImage(data))
        {
            return new BootImage(BootImageKind.LinuxImage, data, description);
        }

        const string Expected = "expected an ELF executable or a flat binary such as OpenSBI's fw_jump.bin";
        if (LooksLikeText(data))
        {
            throw new VmmException($"{description} is a text file, not RISC-V firmware: {Expected}.");
        }

        if (!StartsWithInstruction(data))
        {
            throw new VmmException($"{description} does not begin with a RISC-V instruction, so it is not RISC-V firmware: {Expected}.");
        }

        return new BootImage(BootImageKind.Flat, data, description);
    }

    /// <summary>
    /// Whether the start of a file reads as text: no NUL and no control bytes other than
    /// whitespace (bytes above 0x7f are allowed for UTF-8). Machine code has control bytes in
    /// its first few instructions (RISC-V opcodes such as addi, 0x13, are among them).
    /// </summary>
    private static bool LooksLikeText(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> sample = data[..Math.Min(data.Length, 4096)];
        foreach (byte b in sample)
        {
            if ((b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f')) || b == 0x7f)
            {
                return false;
            }
        }

        return true;
    }

    private static bool StartsWithInstruction(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return false;
        }

        ushort low = BinaryPrimitives.ReadUInt16LittleEndian(data);
        int length = Decoder.LengthOf(low);
        if (data.Length < length)
        {
            return false;
        }

        uint bits = length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(data) : low;
        return Decoder.Decode(bits).Op != Opcode.Illegal;
    }

    /// <summary>Reads a file into memory for the guest (initrd), with the same clear errors.</summary>
    public static byte[] ReadFile(string path, string description)
    {
        byte[] data;
        try
        {
            if (Directory.Exists(path))
            {
                throw new VmmException($"{description} is a directory, not a file.");
            }

            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new VmmException($"{description} does not exist.");
            }

            if (info.Length > MaxImageSize)
            {
                throw new VmmException($"{description} is larger than 1 GiB, which no guest image should be.");
            }

            data = File.ReadAllBytes(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new VmmException($"{description} cannot be read: permission denied.");
        }
        catch (IOException e)
        {
            throw new VmmException($"{description} cannot be read: {e.Message.TrimEnd('.')}.");
        }

        if (data.Length == 0)
        {
            throw new VmmException($"{description} is empty.");
        }

        return data;
    }

    /// <summary>Unpacks a gzip-compressed kernel or firmware (Image.gz), as QEMU's loader does.</summary>
    private static byte[] MaybeGunzip(byte[] data, string description) =>
        data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b ? Gunzip(data, description) : data;

    private static byte[] Gunzip(byte[] data, string description)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var output = new MemoryStream();
            byte[] buffer = new byte[81920];
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
                if (output.Length > MaxImageSize)
                {
                    throw new VmmException($"{description} unpacks to more than 1 GiB.");
                }
            }

            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            throw new VmmException($"{description} looks gzip-compressed but cannot be unpacked.");
        }
    }

    private static bool IsLinuxImage(byte[] data) =>
        data.Length >= LinuxImageHeaderSize && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(56)) == LinuxImageMagic2;

    /// <summary>
    /// Copies the image into guest RAM. Flat binaries and Linux Images go to
    /// <paramref name="loadAddress"/>; ELF segments go to their physical addresses. Returns the
    /// entry point and the end of the loaded range.
    /// </summary>
    public (ulong Entry, ulong End) LoadInto(GuestMemory memory, ulong loadAddress)
    {
        if (Kind == BootImageKind.Elf)
        {
            ElfFile elf = ElfFile.Parse(Data, Description);
            foreach (ElfSegment segment in elf.Segments)
            {
                if (!memory.Contains(segment.PhysicalAddress, segment.MemorySize))
                {
                    throw new VmmException(
                        $"{Description} wants memory at 0x{segment.PhysicalAddress:x}-0x{segment.PhysicalAddress + segment.MemorySize:x}, outside the guest's RAM (0x{memory.Base:x}-0x{memory.End:x}); give the VM more --memory or use an image linked for the virt board.");
                }

                memory.WriteBytes(segment.PhysicalAddress, Data.AsSpan((int)segment.FileOffset, (int)segment.FileSize));
                memory.GetWriteSpan(segment.PhysicalAddress + segment.FileSize, (int)(segment.MemorySize - segment.FileSize)).Clear();
            }

            return (elf.Entry, elf.EndAddress);
        }

        ulong end = loadAddress + MemoryFootprint;
        if (!memory.Contains(loadAddress, MemoryFootprint))
        {
            throw new VmmException(
                $"{Description} needs {(MemoryFootprint + (1024 * 1024) - 1) / (1024 * 1024)} MiB at 0x{loadAddress:x}, which does not fit in the guest's {memory.Size / (1024 * 1024)} MiB of RAM; give the VM more --memory.");
        }

        memory.WriteBytes(loadAddress, Data);
        return (loadAddress, end);
    }

    /// <summary>The address range an ELF image occupies, or null for other kinds.</summary>
    public (ulong Start, ulong End)? ElfRange()
    {
        if (Kind != BootImageKind.Elf)
        {
            return null;
        }

        ElfFile elf = ElfFile.Parse(Data, Description);
        return (elf.LowestAddress, elf.EndAddress);
    }
}

public enum BootImageKind
{
    LinuxImage,
    Elf,
    Flat,
}
