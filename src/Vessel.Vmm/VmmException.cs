namespace Vessel.Vmm;

/// <summary>
/// A problem with what the user asked for (a missing kernel, too little memory, a bad image):
/// the message is one sentence the CLI prints as it is.
/// </summary>
public sealed class VmmException(string message) : Exception(message);
