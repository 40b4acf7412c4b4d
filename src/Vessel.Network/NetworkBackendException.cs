namespace Vessel.Network;

/// <summary>
/// A backend that cannot be set up on this host: a forwarded host port already in use, no
/// permission to create a TAP device, a peer that refuses the connection.
/// </summary>
public sealed class NetworkBackendException(string message) : NetworkException(message);
