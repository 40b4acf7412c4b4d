using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vessel.Cpu.Riscv;
using Vessel.Machine.Devices;
using Vessel.Machine.Persistence;

namespace Vessel.Vmm.State;

/// <summary>
/// Turns a <see cref="MachineState"/> into named, individually versioned sections (JSON of each
/// part's state record) and back. Each section has the version this Vessel writes; a reader
/// accepts that version and every earlier one (upgrading old payloads here when a record
/// changes) and refuses newer versions and unknown sections with one sentence.
/// </summary>
/// <remarks>
/// Sections: <c>machine</c> (<see cref="MachineIdentity"/>, always first), <c>clock</c>,
/// <c>hart0</c>..<c>hartN</c>, <c>clint</c>, <c>plic</c>, <c>uart0</c>, <c>rtc</c> and
/// <c>virtio0</c>..<c>virtio7</c> (by virtio-mmio slot).
/// </remarks>
public static class MachineStateCodec
{
    public const string MachineSection = "machine";

    private const uint Version1 = 1;

    // Source-generated serialization: no reflection or code generation at run time, so the
    // first restore in a fresh process costs what later ones cost (a restore is on the path
    // from the request to the guest's first instruction).
    private static readonly MachineStateJsonContext s_json = MachineStateJsonContext.Default;

    /// <summary>Writes the <c>machine</c> section: what the destination must match, before any RAM.</summary>
    public static void WriteIdentity(StateWriter writer, MachineIdentity identity) =>
        writer.WriteSection(MachineSection, Version1, JsonSerializer.SerializeToUtf8Bytes(identity, s_json.MachineIdentity));

    /// <summary>Writes every section but <c>machine</c>.</summary>
    public static void WriteParts(StateWriter writer, MachineState state)
    {
        writer.WriteSection("clock", Version1, JsonSerializer.SerializeToUtf8Bytes(new ClockSection(state.ClockTicks, state.ClockPendingInstructions), s_json.ClockSection));
        for (int i = 0; i < state.Harts.Count; i++)
        {
            writer.WriteSection(string.Create(CultureInfo.InvariantCulture, $"hart{i}"), Version1, JsonSerializer.SerializeToUtf8Bytes(state.Harts[i], s_json.HartArchitecturalState));
        }

        writer.WriteSection("clint", Version1, JsonSerializer.SerializeToUtf8Bytes(state.Clint, s_json.ClintState));
        writer.WriteSection("plic", Version1, JsonSerializer.SerializeToUtf8Bytes(state.Plic, s_json.PlicState));
        writer.WriteSection("uart0", Version1, JsonSerializer.SerializeToUtf8Bytes(state.Uart, s_json.Uart16550State));
        writer.WriteSection("rtc", Version1, JsonSerializer.SerializeToUtf8Bytes(state.Rtc, s_json.GoldfishRtcState));
        foreach (VirtioSlotState slot in state.Virtio)
        {
            writer.WriteSection(string.Create(CultureInfo.InvariantCulture, $"virtio{slot.Slot}"), Version1, JsonSerializer.SerializeToUtf8Bytes(slot, s_json.VirtioSlotState));
        }
    }

    /// <summary>Reads the <c>machine</c> section.</summary>
    public static MachineIdentity ReadIdentity(string name, uint version, byte[] payload)
    {
        if (name != MachineSection)
        {
            throw new StateFormatException($"it does not begin with the '{MachineSection}' section (it begins with '{name}').");
        }

        CheckVersion(name, version);
        return Deserialize<MachineIdentity>(name, payload);
    }

    /// <summary>Collects the parts' sections as a reader meets them.</summary>
    public sealed class PartsReader
    {
        private readonly MachineIdentity _identity;
        private readonly SortedDictionary<int, HartArchitecturalState> _harts = [];
        private readonly SortedDictionary<int, VirtioSlotState> _virtio = [];
        private ClockSection? _clock;
        private ClintState? _clint;
        private PlicState? _plic;
        private Uart16550State? _uart;
        private GoldfishRtcState? _rtc;

        public PartsReader(MachineIdentity identity) => _identity = identity;

        /// <summary>Takes one section; an unknown name or a newer version is refused.</summary>
        public void Add(string name, uint version, byte[] payload)
        {
            CheckVersion(name, version);
            switch (name)
            {
                case "clock":
                    _clock = Deserialize<ClockSection>(name, payload);
                    break;
                case "clint":
                    _clint = Deserialize<ClintState>(name, payload);
                    break;
                case "plic":
                    _plic = Deserialize<PlicState>(name, payload);
                    break;
                case "uart0":
                    _uart = Deserialize<Uart16550State>(name, payload);
                    break;
                case "rtc":
                    _rtc = Deserialize<GoldfishRtcState>(name, payload);
                    break;
                default:
                    if (TryIndex(name, "hart", out int hart) && hart < _identity.Harts)
                    {
                        _harts[hart] = Deserialize<HartArchitecturalState>(name, payload);
                    }
                    else if (TryIndex(name, "virtio", out int slot) && _identity.Devices.Any(d => d.Slot == slot))
                    {
                        VirtioSlotState state = Deserialize<VirtioSlotState>(name, payload);
                        if (state.Slot != slot)
                        {
                            throw new StateFormatException($"its section '{name}' holds the state of slot {state.Slot}.");
                        }

                        _virtio[slot] = state;
                    }
                    else
                    {
                        throw new StateFormatException($"it has a section '{name}' this Vessel does not know (it was written by a newer Vessel, or for another machine).");
                    }

                    break;
            }
        }

        /// <summary>The whole state, once every section was read.</summary>
        public MachineState Build()
        {
            string? missing = _clock is null ? "clock" : _clint is null ? "clint" : _plic is null ? "plic" : _uart is null ? "uart0" : _rtc is null ? "rtc"
                : _harts.Count != _identity.Harts ? "hart" + Enumerable.Range(0, _identity.Harts).First(i => !_harts.ContainsKey(i))
                : _virtio.Count != _identity.Devices.Count ? "virtio" + _identity.Devices.First(d => !_virtio.ContainsKey(d.Slot)).Slot
                : null;
            if (missing is not null)
            {
                throw new StateFormatException($"its section '{missing}' is missing.");
            }

            return new MachineState
            {
                Identity = _identity,
                ClockTicks = _clock!.Ticks,
                ClockPendingInstructions = _clock.PendingInstructions,
                Harts = _harts.Values.ToArray(),
                Clint = _clint!,
                Plic = _plic!,
                Uart = _uart!,
                Rtc = _rtc!,
                Virtio = _virtio.Values.ToArray(),
            };
        }

        private static bool TryIndex(string name, string prefix, out int index)
        {
            index = -1;
            return name.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out index)
                && index is >= 0 and < 64;
        }
    }

    private static void CheckVersion(string name, uint version)
    {
        if (version == 0 || version > Version1)
        {
            throw new StateFormatException($"its section '{name}' has version {version}, newer than this Vessel reads ({Version1}): it was written by a newer Vessel.");
        }
    }

    private static T Deserialize<T>(string name, byte[] payload)
        where T : class
    {
        try
        {
            var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)s_json.GetTypeInfo(typeof(T))!;
            return JsonSerializer.Deserialize(payload, typeInfo) ?? throw new StateFormatException($"its section '{name}' is empty.");
        }
        catch (JsonException e)
        {
            throw new StateFormatException($"its section '{name}' cannot be read ({e.Message.TrimEnd('.')}).");
        }
    }

}

/// <summary>The clock section; <see cref="PendingInstructions"/> was added within version 1 (absent: 0).</summary>
internal sealed record ClockSection(ulong Ticks, long PendingInstructions = 0);

/// <summary>The machine state's JSON, generated at build time (see <see cref="MachineStateCodec"/>).</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(MachineIdentity))]
[JsonSerializable(typeof(ClockSection))]
[JsonSerializable(typeof(HartArchitecturalState))]
[JsonSerializable(typeof(ClintState))]
[JsonSerializable(typeof(PlicState))]
[JsonSerializable(typeof(Uart16550State))]
[JsonSerializable(typeof(GoldfishRtcState))]
[JsonSerializable(typeof(VirtioSlotState))]
internal sealed partial class MachineStateJsonContext : JsonSerializerContext;
