namespace Vessel.Machine.Persistence;

/// <summary>A saved state that cannot be read: truncated, corrupt, foreign or from a newer Vessel. The message is one sentence.</summary>
public sealed class StateFormatException(string message) : Exception(message);
