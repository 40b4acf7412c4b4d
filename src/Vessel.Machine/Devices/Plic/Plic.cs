using Vessel.Machine.Bus;
using Vessel.Machine.Interrupts;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Devices;

/// <summary>
/// The SiFive platform-level interrupt controller as on QEMU's <c>virt</c> board: 7 priority
/// levels, two contexts per hart (context 2h is hart h's M-mode and drives its MEIP pin,
/// context 2h+1 is its S-mode and drives SEIP), level-triggered sources.
/// </summary>
/// <remarks>
/// Register map: priority at 4*source, pending bits at 0x1000, enable bits at
/// 0x2000 + 0x80*context, threshold at 0x200000 + 0x1000*context and claim/complete 4 bytes
/// after it. Gateway: a source is pending while its line is high and it is not being serviced;
/// a claim takes the highest-priority pending enabled source above the context's threshold
/// (ties go to the lowest id) and clears its pending bit; completing it re-arms it, so a line
/// that is still high becomes pending again at once.
/// </remarks>
public sealed class Plic : IMmioDevice, IPersistent<PlicState>
{
    /// <summary>
    /// Source ids of the <c>virt</c> board's PLIC, including the reserved id 0: ids 1..96 are
    /// usable, matching the <c>riscv,ndev = 96</c> that QEMU 7.2 puts in the device tree.
    /// </summary>
    public const int VirtSourceCount = 97;

    /// <summary>The size of the register window (the FDT's reg size on <c>virt</c>).</summary>
    public const ulong WindowSize = 0x60_0000;

    /// <summary>Highest priority value (3 priority bits).</summary>
    public const uint MaxPriority = 7;

    private const ulong PendingBase = 0x1000;
    private const ulong EnableBase = 0x2000;
    private const ulong EnableStride = 0x80;
    private const ulong ContextBase = 0x20_0000;
    private const ulong ContextStride = 0x1000;

    private readonly object _gate = new();
    private readonly IReadOnlyList<IHartInterruptPins> _harts;
    private readonly int _sourceCount;
    private readonly int _words;
    private readonly int _contextCount;
    private readonly SourceLine[] _lines;

    private readonly uint[] _priority;
    private readonly uint[] _threshold;
    private readonly uint[] _pending;
    private readonly uint[] _claimed;
    private readonly uint[] _enable;
    private readonly uint[] _level;
    private readonly bool[] _contextOutput;

    /// <param name="harts">The interrupt pins of each hart, in hart-id order.</param>
    /// <param name="sourceCount">Number of source ids including the reserved id 0.</param>
    public Plic(IReadOnlyList<IHartInterruptPins> harts, int sourceCount = VirtSourceCount)
    {
        ArgumentNullException.ThrowIfNull(harts);
        if (harts.Count == 0)
        {
            throw new ArgumentException("A PLIC needs at least one hart.", nameof(harts));
        }

        int maxContexts = (int)((WindowSize - ContextBase) / ContextStride);
        if (harts.Count * 2 > maxContexts)
        {
            throw new ArgumentException($"A PLIC window of this size serves at most {maxContexts / 2} harts.", nameof(harts));
        }

        // Enable bits of one context must fit in its 0x80-byte stride.
        if (sourceCount < 2 || sourceCount > (int)EnableStride * 8)
        {
            throw new ArgumentOutOfRangeException(nameof(sourceCount), $"A PLIC has between 2 and {EnableStride * 8} source ids.");
        }

        _harts = harts;
        _sourceCount = sourceCount;
        _words = (sourceCount + 31) / 32;
        _contextCount = harts.Count * 2;
        _priority = new uint[sourceCount];
        _threshold = new uint[_contextCount];
        _pending = new uint[_words];
        _claimed = new uint[_words];
        _enable = new uint[_words * _contextCount];
        _level = new uint[_words];
        _contextOutput = new bool[_contextCount];
        _lines = new SourceLine[sourceCount];
        for (int i = 1; i < sourceCount; i++)
        {
            _lines[i] = new SourceLine(this, i);
        }

        lock (_gate)
        {
            UpdateOutputs(force: true);
        }
    }

    /// <summary>Number of source ids including the reserved id 0.</summary>
    public int SourceCount => _sourceCount;

    public int ContextCount => _contextCount;

    /// <summary>The interrupt line of source <paramref name="source"/> (1 .. <see cref="SourceCount"/>-1).</summary>
    public IInterruptLine GetLine(int source)
    {
        if (source < 1 || source >= _sourceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(source), $"PLIC sources are numbered 1 to {_sourceCount - 1}.");
        }

        return _lines[source];
    }

    public ulong Read(ulong offset, int size)
    {
        if (size == 8)
        {
            ulong low, high;
            lock (_gate)
            {
                low = Read32(offset);
                high = Read32(offset + 4);
            }

            return low | (high << 32);
        }

        lock (_gate)
        {
            ulong word = Read32(offset & ~3UL);
            return MmioAccess.Slice(word, (int)(offset & 3), size);
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        lock (_gate)
        {
            if (size == 8)
            {
                Write32(offset, (uint)value);
                Write32(offset + 4, (uint)(value >> 32));
            }
            else if (size == 4)
            {
                Write32(offset, (uint)value);
            }

            // Narrower writes are not valid on the PLIC (QEMU rejects them) and are ignored.
        }
    }

    /// <summary>Clears every register (the PLIC's reset state); source line levels are kept.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            Array.Clear(_priority);
            Array.Clear(_threshold);
            Array.Clear(_claimed);
            Array.Clear(_enable);
            // A line that is high stays high through a reset of the controller.
            Array.Copy(_level, _pending, _words);
            UpdateOutputs(force: true);
        }
    }

    public PlicState SaveState()
    {
        lock (_gate)
        {
            return new PlicState
            {
                Priorities = (uint[])_priority.Clone(),
                Thresholds = (uint[])_threshold.Clone(),
                Pending = (uint[])_pending.Clone(),
                Claimed = (uint[])_claimed.Clone(),
                Enables = (uint[])_enable.Clone(),
                LineLevels = (uint[])_level.Clone(),
            };
        }
    }

    public void RestoreState(PlicState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Priorities.Length != _sourceCount || state.Thresholds.Length != _contextCount
            || state.Pending.Length != _words || state.Claimed.Length != _words
            || state.Enables.Length != _words * _contextCount || state.LineLevels.Length != _words)
        {
            throw new ArgumentException("The saved PLIC state is for a different number of sources or harts.", nameof(state));
        }

        lock (_gate)
        {
            for (int i = 0; i < _sourceCount; i++)
            {
                _priority[i] = i == 0 ? 0 : state.Priorities[i] & MaxPriority;
            }

            for (int c = 0; c < _contextCount; c++)
            {
                _threshold[c] = state.Thresholds[c] & MaxPriority;
            }

            for (int w = 0; w < _words; w++)
            {
                uint valid = ValidMask(w);
                _pending[w] = state.Pending[w] & valid;
                _claimed[w] = state.Claimed[w] & valid;
                _level[w] = state.LineLevels[w] & valid;
                for (int c = 0; c < _contextCount; c++)
                {
                    _enable[c * _words + w] = state.Enables[c * _words + w] & valid;
                }
            }

            UpdateOutputs(force: true);
        }
    }

    private uint Read32(ulong offset)
    {
        if ((offset & 3) != 0)
        {
            return 0;
        }

        if (offset < PendingBase)
        {
            ulong source = offset / 4;
            return source < (ulong)_sourceCount ? _priority[source] : 0;
        }

        if (offset < EnableBase)
        {
            ulong word = (offset - PendingBase) / 4;
            return word < (ulong)_words ? _pending[word] : 0;
        }

        if (offset < ContextBase)
        {
            ulong context = (offset - EnableBase) / EnableStride;
            ulong word = (offset - EnableBase) % EnableStride / 4;
            return context < (ulong)_contextCount && word < (ulong)_words ? _enable[(int)context * _words + (int)word] : 0;
        }

        if (offset < WindowSize)
        {
            ulong context = (offset - ContextBase) / ContextStride;
            ulong register = (offset - ContextBase) % ContextStride;
            if (context < (ulong)_contextCount)
            {
                if (register == 0)
                {
                    return _threshold[context];
                }

                if (register == 4)
                {
                    return Claim((int)context);
                }
            }
        }

        return 0;
    }

    private void Write32(ulong offset, uint value)
    {
        if ((offset & 3) != 0)
        {
            return;
        }

        if (offset < PendingBase)
        {
            ulong source = offset / 4;
            // Priority bits are WARL: only the 3 implemented bits are kept. Source 0 is reserved.
            if (source != 0 && source < (ulong)_sourceCount)
            {
                _priority[source] = value & MaxPriority;
                UpdateOutputs(force: false);
            }

            return;
        }

        if (offset < EnableBase)
        {
            // Pending bits are read-only.
            return;
        }

        if (offset < ContextBase)
        {
            ulong context = (offset - EnableBase) / EnableStride;
            ulong word = (offset - EnableBase) % EnableStride / 4;
            if (context < (ulong)_contextCount && word < (ulong)_words)
            {
                _enable[(int)context * _words + (int)word] = value & ValidMask((int)word);
                UpdateOutputs(force: false);
            }

            return;
        }

        if (offset < WindowSize)
        {
            ulong context = (offset - ContextBase) / ContextStride;
            ulong register = (offset - ContextBase) % ContextStride;
            if (context >= (ulong)_contextCount)
            {
                return;
            }

            if (register == 0)
            {
                _threshold[context] = value & MaxPriority;
                UpdateOutputs(force: false);
            }
            else if (register == 4)
            {
                Complete(value);
            }
        }
    }

    /// <summary>Bits of bit-array word <paramref name="word"/> that name real, non-reserved sources.</summary>
    private uint ValidMask(int word)
    {
        uint mask = uint.MaxValue;
        int remaining = _sourceCount - word * 32;
        if (remaining < 32)
        {
            mask = (1u << remaining) - 1;
        }

        if (word == 0)
        {
            mask &= ~1u;
        }

        return mask;
    }

    /// <summary>The best source context <paramref name="context"/> would take now, or 0.</summary>
    private int BestSource(int context)
    {
        uint bestPriority = _threshold[context];
        int best = 0;
        int enableBase = context * _words;
        for (int w = 0; w < _words; w++)
        {
            uint candidates = _pending[w] & ~_claimed[w] & _enable[enableBase + w];
            while (candidates != 0)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(candidates);
                candidates &= candidates - 1;
                int source = w * 32 + bit;
                // Strictly greater: equal priorities keep the lowest id, found first.
                if (_priority[source] > bestPriority)
                {
                    bestPriority = _priority[source];
                    best = source;
                }
            }
        }

        return best;
    }

    private uint Claim(int context)
    {
        int source = BestSource(context);
        if (source != 0)
        {
            _pending[source >> 5] &= ~(1u << (source & 31));
            _claimed[source >> 5] |= 1u << (source & 31);
        }

        UpdateOutputs(force: false);
        return (uint)source;
    }

    private void Complete(uint source)
    {
        if (source == 0 || source >= (uint)_sourceCount)
        {
            return;
        }

        uint bit = 1u << (int)(source & 31);
        int word = (int)(source >> 5);
        _claimed[word] &= ~bit;
        // The gateway forwards a new request if the line is still high.
        if ((_level[word] & bit) != 0)
        {
            _pending[word] |= bit;
        }

        UpdateOutputs(force: false);
    }

    private void SetLine(int source, bool high)
    {
        uint bit = 1u << (source & 31);
        int word = source >> 5;
        lock (_gate)
        {
            bool wasHigh = (_level[word] & bit) != 0;
            if (wasHigh == high)
            {
                return;
            }

            if (high)
            {
                _level[word] |= bit;
                // While the source is being serviced the request waits for its completion.
                if ((_claimed[word] & bit) == 0)
                {
                    _pending[word] |= bit;
                }
            }
            else
            {
                _level[word] &= ~bit;
                _pending[word] &= ~bit;
            }

            UpdateOutputs(force: false);
        }
    }

    private void UpdateOutputs(bool force)
    {
        for (int context = 0; context < _contextCount; context++)
        {
            bool level = BestSource(context) != 0;
            if (force || level != _contextOutput[context])
            {
                _contextOutput[context] = level;
                int pin = (context & 1) == 0 ? RiscvInterruptBits.MachineExternal : RiscvInterruptBits.SupervisorExternal;
                _harts[context >> 1].SetPin(pin, level);
            }
        }
    }

    private sealed class SourceLine(Plic plic, int source) : IInterruptLine
    {
        public void Set(bool level) => plic.SetLine(source, level);
    }
}
