namespace Vessel.Machine.Devices;

/// <summary>
/// What the board does when the guest asks to power off, reset or report a failure (through
/// the <c>virt</c> board's test/syscon device). Called on the vCPU thread that wrote the
/// request; implementations should only record the request and stop the harts, not tear the
/// machine down from inside the call.
/// </summary>
public interface IPowerControl
{
    /// <summary>The guest powered the machine off (exit status 0).</summary>
    void PowerOff();

    /// <summary>The guest asked for a warm reset of the whole machine.</summary>
    void Reset();

    /// <summary>The guest reported a failure with <paramref name="code"/> (0..65535) and stops.</summary>
    void Fail(int code);
}
