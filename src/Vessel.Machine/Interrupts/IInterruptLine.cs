namespace Vessel.Machine.Interrupts;

/// <summary>
/// A level-triggered interrupt wire from a device to an interrupt controller. Safe to call
/// from any thread.
/// </summary>
public interface IInterruptLine
{
    void Set(bool level);
}

/// <summary>An interrupt line that goes nowhere (devices built without a controller, tests).</summary>
public sealed class NullInterruptLine : IInterruptLine
{
    public static readonly NullInterruptLine Instance = new();

    public void Set(bool level)
    {
    }
}
