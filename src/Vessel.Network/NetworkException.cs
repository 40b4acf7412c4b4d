namespace Vessel.Network;

/// <summary>
/// A network problem the user can act on, carrying one clear sentence (the CLI prints it as
/// <c>vessel: &lt;sentence&gt;</c>). Catch this type to handle both kinds below.
/// </summary>
public abstract class NetworkException(string message) : Exception(message);
