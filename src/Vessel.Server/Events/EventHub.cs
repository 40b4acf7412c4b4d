using System.Threading.Channels;
using Vessel.Client.Contracts;

namespace Vessel.Server.Events;

/// <summary>
/// Fans events out to every subscriber (the events WebSocket, tests, the CLI's waits). A
/// subscriber that does not keep up loses its oldest events rather than slowing the daemon.
/// </summary>
public sealed class EventHub
{
    private readonly object _gate = new();
    private readonly List<Channel<ServerEvent>> _subscribers = [];

    public void Publish(ServerEvent serverEvent)
    {
        lock (_gate)
        {
            foreach (Channel<ServerEvent> subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(serverEvent);
            }
        }
    }

    public void Publish(string type, string? targetKind, string? target, string? state = null, string? message = null, Guid? operationId = null) =>
        Publish(new ServerEvent(type, targetKind, target, state, message, operationId, DateTime.UtcNow));

    /// <summary>Subscribes until the returned subscription is disposed.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }

        return new Subscription(this, channel);
    }

    public sealed class Subscription : IDisposable
    {
        private readonly EventHub _hub;
        private readonly Channel<ServerEvent> _channel;

        internal Subscription(EventHub hub, Channel<ServerEvent> channel)
        {
            _hub = hub;
            _channel = channel;
        }

        public ChannelReader<ServerEvent> Reader => _channel.Reader;

        public void Dispose()
        {
            lock (_hub._gate)
            {
                _hub._subscribers.Remove(_channel);
            }

            _channel.Writer.TryComplete();
        }
    }
}
