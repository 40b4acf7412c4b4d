namespace Vessel.Network;

/// <summary>A <c>--net</c> option string that cannot be understood, e.g. <c>user,net=10.0.2.0/33</c>.</summary>
public sealed class NetworkOptionsException(string message) : NetworkException(message);
