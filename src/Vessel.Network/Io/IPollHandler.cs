namespace Vessel.Network.Io;

/// <summary>Something with a file descriptor in an <see cref="EventLoop"/>: told which epoll events fired.</summary>
internal interface IPollHandler
{
    void OnPollEvents(uint events);
}
