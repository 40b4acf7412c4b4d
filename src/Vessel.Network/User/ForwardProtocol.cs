namespace Vessel.Network.User;

/// <summary>Which transport a port forward carries.</summary>
public enum ForwardProtocol
{
    Tcp,
    Udp,
}
