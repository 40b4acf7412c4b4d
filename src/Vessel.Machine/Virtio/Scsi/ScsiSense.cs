namespace Vessel.Machine.Virtio.Scsi;

/// <summary>A sense key with its additional sense code and qualifier (SPC-4, 4.5), and the ones the devices report.</summary>
public readonly record struct ScsiSense(byte Key, byte Asc, byte Ascq)
{
    public const byte KeyNoSense = 0x0;
    public const byte KeyNotReady = 0x2;
    public const byte KeyMediumError = 0x3;
    public const byte KeyIllegalRequest = 0x5;
    public const byte KeyUnitAttention = 0x6;
    public const byte KeyDataProtect = 0x7;

    /// <summary>Fixed-format sense data is this long (response code 0x70, additional length 10).</summary>
    public const int FixedLength = 18;

    public static ScsiSense NoSense => new(KeyNoSense, 0x00, 0x00);

    public static ScsiSense NoMedium => new(KeyNotReady, 0x3a, 0x00);

    public static ScsiSense InvalidOpcode => new(KeyIllegalRequest, 0x20, 0x00);

    public static ScsiSense LbaOutOfRange => new(KeyIllegalRequest, 0x21, 0x00);

    public static ScsiSense InvalidField => new(KeyIllegalRequest, 0x24, 0x00);

    public static ScsiSense InvalidParameterList => new(KeyIllegalRequest, 0x26, 0x00);

    public static ScsiSense LunNotSupported => new(KeyIllegalRequest, 0x25, 0x00);

    public static ScsiSense SavingNotSupported => new(KeyIllegalRequest, 0x39, 0x00);

    public static ScsiSense MediumRemovalPrevented => new(KeyIllegalRequest, 0x53, 0x02);

    public static ScsiSense IncompatibleFormat => new(KeyIllegalRequest, 0x30, 0x00);

    public static ScsiSense WriteProtected => new(KeyDataProtect, 0x27, 0x00);

    public static ScsiSense ReadError => new(KeyMediumError, 0x11, 0x00);

    public static ScsiSense WriteError => new(KeyMediumError, 0x0c, 0x00);

    public static ScsiSense PowerOnReset => new(KeyUnitAttention, 0x29, 0x00);

    public static ScsiSense MediumRemovedAttention => new(KeyUnitAttention, 0x3a, 0x00);

    public static ScsiSense MediumChanged => new(KeyUnitAttention, 0x28, 0x00);

    public bool IsUnitAttention => Key == KeyUnitAttention;

    /// <summary>Writes fixed-format sense data (18 bytes, or fewer when <paramref name="destination"/> is shorter); returns the length.</summary>
    public int WriteFixed(Span<byte> destination)
    {
        Span<byte> sense = stackalloc byte[FixedLength];
        sense.Clear();
        sense[0] = 0x70; // current error, fixed format
        sense[2] = Key;
        sense[7] = FixedLength - 8;
        sense[12] = Asc;
        sense[13] = Ascq;
        int length = Math.Min(FixedLength, destination.Length);
        sense[..length].CopyTo(destination);
        return length;
    }
}
