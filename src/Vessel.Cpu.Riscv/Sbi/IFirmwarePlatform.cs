namespace Vessel.Cpu.Riscv.Sbi;

/// <summary>What the built-in SBI needs from the board: the timer, the console and power control.</summary>
public interface IFirmwarePlatform
{
    /// <summary>Programs the timer comparator of hart <paramref name="hartIndex"/> (the CLINT's mtimecmp).</summary>
    void SetTimer(int hartIndex, ulong time);

    /// <summary>Writes a byte to the firmware console (the UART).</summary>
    void ConsoleWrite(byte value);

    /// <summary>Reads a byte from the firmware console; -1 when none is waiting.</summary>
    int ConsoleRead();

    /// <summary>SBI system reset: shutdown, reboot, or shutdown after a failure.</summary>
    void SystemReset(SystemResetKind kind);
}

/// <summary>The outcomes of an SBI system reset request.</summary>
public enum SystemResetKind
{
    Shutdown,
    Reboot,
    Failure,
}
