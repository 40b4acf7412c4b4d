namespace Vessel.Network.User;

/// <summary>Something that stopped producing frames for the guest while the link was congested.</summary>
internal interface ILinkWaiter
{
    /// <summary>The guest takes frames again: produce more (loop thread).</summary>
    void OnLinkSpace();
}
