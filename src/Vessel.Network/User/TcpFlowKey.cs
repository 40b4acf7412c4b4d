using Vessel.Network.Packets;

namespace Vessel.Network.User;

/// <summary>A guest TCP connection's endpoints as the guest sees them (the remote side is virtual for port forwards).</summary>
internal readonly record struct TcpFlowKey(Ipv4Address GuestAddress, ushort GuestPort, Ipv4Address RemoteAddress, ushort RemotePort);
