namespace Vessel.Network;

/// <summary><c>--net switch,path=PATH</c>: a port on the <see cref="Switch.VirtualSwitch"/> listening at PATH.</summary>
public sealed record SwitchNetworkOptions(string Path) : NetworkOptions;
