using System.Diagnostics.CodeAnalysis;

namespace Vessel.Network.User;

/// <summary>A NAT flow that ends after a time without traffic (UDP ports, ping sessions).</summary>
internal interface IIdleFlow
{
    /// <summary>When the flow last carried traffic (<see cref="Io.EventLoop.Now"/>).</summary>
    long LastActive { get; }

    /// <summary>Releases the flow's host socket.</summary>
    void Close();
}

/// <summary>
/// The flows of one NAT protocol by key, each closed by a periodic sweep once it has been idle
/// for the timeout. The sweep reuses one list of expired keys, so it allocates nothing.
/// </summary>
internal sealed class IdleFlowTable<TKey, TFlow>(long idleTimeoutMs)
    where TKey : notnull
    where TFlow : class, IIdleFlow
{
    private readonly Dictionary<TKey, TFlow> _flows = [];
    private readonly List<TKey> _expired = [];

    public int Count => _flows.Count;

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TFlow flow) => _flows.TryGetValue(key, out flow);

    public void Add(TKey key, TFlow flow) => _flows.Add(key, flow);

    /// <summary>Closes and forgets the flows idle since <paramref name="now"/> minus the timeout; true when some remain.</summary>
    public bool CloseIdle(long now)
    {
        foreach ((TKey key, TFlow flow) in _flows)
        {
            if (now - flow.LastActive >= idleTimeoutMs)
            {
                _expired.Add(key);
            }
        }

        foreach (TKey key in _expired)
        {
            _flows.Remove(key, out TFlow? flow);
            flow?.Close();
        }

        _expired.Clear();
        return _flows.Count > 0;
    }

    public void CloseAll()
    {
        foreach (TFlow flow in _flows.Values)
        {
            flow.Close();
        }

        _flows.Clear();
    }
}
