using System.Net;

namespace Vessel.Network;

/// <summary>
/// <c>--net socket,listen=ADDR:PORT</c> or <c>--net socket,connect=ADDR:PORT</c>: frames travel over
/// one TCP connection to another VM, each prefixed with its length as 4 big-endian bytes (the
/// format of QEMU's <c>-netdev socket</c> and <c>-netdev stream</c>).
/// </summary>
public sealed record SocketNetworkOptions : NetworkOptions
{
    public IPEndPoint? Listen { get; init; }

    public IPEndPoint? Connect { get; init; }
}
