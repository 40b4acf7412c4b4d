using Vessel.Network.SocketLink;
using Vessel.Network.Tap;
using Vessel.Network.User;

namespace Vessel.Network;

/// <summary>Creates the backend a parsed <c>--net</c> option describes.</summary>
public static class NetworkBackendFactory
{
    /// <summary>Throws <see cref="NetworkException"/> (one sentence) when the backend cannot be set up.</summary>
    public static INetworkBackend Create(NetworkOptions options) => options switch
    {
        UserNetworkOptions user => new UserNetwork(user),
        TapNetworkOptions tap => new TapBackend(tap.InterfaceName),
        SocketNetworkOptions { Listen: { } listen } => SocketLinkBackend.Listen(listen),
        SocketNetworkOptions { Connect: { } connect } => SocketLinkBackend.Connect(connect),
        SwitchNetworkOptions @switch => SocketLinkBackend.ConnectToSwitch(@switch.Path),
        _ => throw new NetworkOptionsException($"unsupported network options {options.GetType().Name}"),
    };

    /// <summary>Parses the option string and creates its backend.</summary>
    public static INetworkBackend Create(string options) => Create(NetworkOptions.Parse(options));
}
