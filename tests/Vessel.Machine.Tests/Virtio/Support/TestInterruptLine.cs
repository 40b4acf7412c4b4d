using Vessel.Machine.Interrupts;

namespace Vessel.Machine.Tests.Virtio.Support;

/// <summary>An interrupt wire that remembers its level and counts rising edges.</summary>
public sealed class TestInterruptLine : IInterruptLine
{
    private readonly Lock _lock = new();
    private bool _level;
    private int _risingEdges;

    public bool Level
    {
        get
        {
            lock (_lock)
            {
                return _level;
            }
        }
    }

    public int RisingEdges
    {
        get
        {
            lock (_lock)
            {
                return _risingEdges;
            }
        }
    }

    public void Set(bool level)
    {
        lock (_lock)
        {
            if (level && !_level)
            {
                _risingEdges++;
            }

            _level = level;
        }
    }
}
