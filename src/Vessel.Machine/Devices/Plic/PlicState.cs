namespace Vessel.Machine.Devices;

/// <summary>
/// The state of a <see cref="Plic"/>. Bit arrays hold one bit per source id, 32 ids per word;
/// <see cref="Enables"/> is one such array per context, context after context.
/// </summary>
public sealed record PlicState
{
    /// <summary>Priority of each source id (index 0 is the reserved source and always 0).</summary>
    public uint[] Priorities { get; init; } = [];

    /// <summary>Priority threshold of each context.</summary>
    public uint[] Thresholds { get; init; } = [];

    public uint[] Pending { get; init; } = [];

    /// <summary>Sources claimed by some context and not yet completed.</summary>
    public uint[] Claimed { get; init; } = [];

    public uint[] Enables { get; init; } = [];

    /// <summary>The level of each source's interrupt line.</summary>
    public uint[] LineLevels { get; init; } = [];
}
