namespace Vessel.Network;

/// <summary><c>--net tap,ifname=NAME</c>: frames go to and from a host TAP interface.</summary>
public sealed record TapNetworkOptions(string InterfaceName) : NetworkOptions;
