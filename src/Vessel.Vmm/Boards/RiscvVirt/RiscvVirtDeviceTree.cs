using System.Security.Cryptography;
using Vessel.Machine.DeviceTree;
using Vessel.Machine.Devices;
using static Vessel.Vmm.Boards.RiscvVirt.RiscvVirtMemoryMap;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>
/// Builds the device tree of the <c>virt</c> board from what the board really has. It matches
/// what QEMU 7.2 generates for the same configuration node for node and property for property
/// (same names, values, node order and even phandle numbering), leaving out only hardware
/// Vessel does not have: PCIe, flash, fw-cfg and the platform bus, and virtio-mmio slots with
/// nothing behind them.
/// </summary>
/// <remarks>
/// Node order matters to the guest: Linux creates platform devices in tree order, and QEMU
/// lists the virtio-mmio slots from the highest address down, so on QEMU the device in the
/// highest slot is probed first (becomes virtio0, the first disk <c>vda</c>, ...). This tree
/// keeps that order; a board that wants QEMU's naming assigns its first device to slot 7.
/// </remarks>
public static class RiscvVirtDeviceTree
{
    public const int MaxHarts = 8;

    private const int RngSeedLength = 32;

    /// <summary>More free space than this is a mistake: the tree itself is a few KiB.</summary>
    private const int MaxFreeSpace = 1024 * 1024;

    /// <summary>The <c>stdout-path</c> of the UART console.</summary>
    public static string UartPath => $"/soc/serial@{UartBase:x}";

    /// <summary>Builds the DTB for <paramref name="options"/>.</summary>
    public static byte[] Build(RiscvVirtDeviceTreeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        int hartCount = options.Harts.Count;
        var fdt = new FdtBuilder { FreeSpace = options.FreeSpace };

        // Phandles in QEMU's order: each hart (last to first) and its interrupt controller,
        // then the PLIC, then the test device.
        var cpuPhandles = new uint[hartCount];
        var intcPhandles = new uint[hartCount];
        for (int hart = hartCount - 1; hart >= 0; hart--)
        {
            cpuPhandles[hart] = fdt.AllocatePhandle();
            intcPhandles[hart] = fdt.AllocatePhandle();
        }

        uint plicPhandle = options.HasPlic ? fdt.AllocatePhandle() : 0;
        uint testPhandle = options.HasTest ? fdt.AllocatePhandle() : 0;

        fdt.BeginNode("");
        fdt.PropertyU32("#address-cells", 2);
        fdt.PropertyU32("#size-cells", 2);
        fdt.PropertyString("compatible", "riscv-virtio");
        fdt.PropertyString("model", "riscv-virtio,qemu");

        if (options.HpmCounterCount > 0)
        {
            WritePmu(fdt, options.HpmCounterCount);
        }

        WriteChosen(fdt, options);

        if (options.HasTest)
        {
            WriteSysconAction(fdt, "poweroff", "syscon-poweroff", SifiveTest.Pass, testPhandle);
            WriteSysconAction(fdt, "reboot", "syscon-reboot", SifiveTest.ResetRequest, testPhandle);
        }

        fdt.BeginNode($"memory@{options.RamBase:x}");
        fdt.PropertyString("device_type", "memory");
        fdt.PropertyCells("reg", Hi(options.RamBase), Lo(options.RamBase), Hi(options.RamSize), Lo(options.RamSize));
        fdt.EndNode();

        WriteCpus(fdt, options, cpuPhandles, intcPhandles);
        WriteSoc(fdt, options, intcPhandles, plicPhandle, testPhandle);

        fdt.EndNode();
        return fdt.Build();
    }

    private static void Validate(RiscvVirtDeviceTreeOptions options)
    {
        if (options.Harts is null || options.Harts.Count is < 1 or > MaxHarts)
        {
            throw new ArgumentException($"The virt board has 1 to {MaxHarts} harts.", nameof(options));
        }

        foreach (RiscvVirtHart hart in options.Harts)
        {
            if (hart is null || string.IsNullOrEmpty(hart.Isa) || !hart.Isa.StartsWith("rv", StringComparison.Ordinal))
            {
                throw new ArgumentException("Each hart needs an ISA string that starts with \"rv\".", nameof(options));
            }

            if (string.IsNullOrEmpty(hart.MmuType))
            {
                throw new ArgumentException("Each hart needs an MMU type such as \"riscv,sv48\".", nameof(options));
            }
        }

        if (options.RamSize == 0 || options.RamBase + options.RamSize < options.RamBase)
        {
            throw new ArgumentException("The RAM region is empty or runs past the end of the address space.", nameof(options));
        }

        if (options.InitrdStart.HasValue != options.InitrdEnd.HasValue)
        {
            throw new ArgumentException("The initrd needs both a start and an end address.", nameof(options));
        }

        if (options.InitrdStart > options.InitrdEnd)
        {
            throw new ArgumentException("The initrd ends before it starts.", nameof(options));
        }

        var seen = new HashSet<int>();
        foreach (int slot in options.VirtioSlots)
        {
            if (slot is < 0 or >= VirtioSlots || !seen.Add(slot))
            {
                throw new ArgumentException($"Virtio-mmio slots are numbered 0 to {VirtioSlots - 1}, each used once; slot {slot} is not valid.", nameof(options));
            }
        }

        if (options.FreeSpace is < 0 or > MaxFreeSpace)
        {
            throw new ArgumentException($"A device tree's free space is 0 to {MaxFreeSpace} bytes.", nameof(options));
        }

        if (options.HpmCounterCount is < 0 or > 29)
        {
            throw new ArgumentException("A hart has 0 to 29 programmable performance counters.", nameof(options));
        }

        if (!options.HasPlic && (options.HasUart || options.HasRtc || options.VirtioSlots.Count > 0))
        {
            throw new ArgumentException("Devices with interrupts need the PLIC.", nameof(options));
        }
    }

    private static uint Hi(ulong value) => (uint)(value >> 32);

    private static uint Lo(ulong value) => (uint)value;

    private static void WritePmu(FdtBuilder fdt, int counters)
    {
        // SBI PMU event -> counter map as QEMU 7.2 builds it: cycles (event 1) on mcycle or any
        // programmable counter, instructions (event 2) on minstret or any, and the three
        // cache events QEMU models (TLB misses) on the programmable counters only.
        uint programmable = (uint)(((1UL << counters) - 1) << 3);
        fdt.BeginNode("pmu");
        fdt.PropertyCells(
            "riscv,event-to-mhpmcounters",
            0x1, 0x1, programmable | 1u << 0,
            0x2, 0x2, programmable | 1u << 2,
            0x10019, 0x10019, programmable,
            0x1001b, 0x1001b, programmable,
            0x10021, 0x10021, programmable,
            // QEMU sizes its table for 20 cells and leaves the rest zero; kept for identity.
            0, 0, 0, 0, 0);
        fdt.PropertyString("compatible", "riscv,pmu");
        fdt.EndNode();
    }

    private static void WriteChosen(FdtBuilder fdt, RiscvVirtDeviceTreeOptions options)
    {
        fdt.BeginNode("chosen");
        if (options.InitrdStart is ulong start && options.InitrdEnd is ulong end)
        {
            // QEMU 7.2 writes one cell; a 64-bit value is used only when it would not fit
            // (Linux reads either width).
            WriteAddress(fdt, "linux,initrd-end", end);
            WriteAddress(fdt, "linux,initrd-start", start);
        }

        byte[] seed = options.RngSeed ?? RandomNumberGenerator.GetBytes(RngSeedLength);
        if (seed.Length > 0)
        {
            fdt.PropertyBytes("rng-seed", seed);
        }

        if (options.Bootargs is not null)
        {
            fdt.PropertyString("bootargs", options.Bootargs);
        }

        string? stdout = options.StdoutPath ?? (options.HasUart ? UartPath : null);
        if (stdout is not null)
        {
            fdt.PropertyString("stdout-path", stdout);
        }

        fdt.EndNode();
    }

    private static void WriteAddress(FdtBuilder fdt, string name, ulong value)
    {
        if (value <= uint.MaxValue)
        {
            fdt.PropertyU32(name, (uint)value);
        }
        else
        {
            fdt.PropertyU64(name, value);
        }
    }

    private static void WriteSysconAction(FdtBuilder fdt, string node, string compatible, uint value, uint regmap)
    {
        fdt.BeginNode(node);
        fdt.PropertyU32("value", value);
        fdt.PropertyU32("offset", 0);
        fdt.PropertyU32("regmap", regmap);
        fdt.PropertyString("compatible", compatible);
        fdt.EndNode();
    }

    private static void WriteCpus(FdtBuilder fdt, RiscvVirtDeviceTreeOptions options, uint[] cpuPhandles, uint[] intcPhandles)
    {
        fdt.BeginNode("cpus");
        fdt.PropertyU32("#address-cells", 1);
        fdt.PropertyU32("#size-cells", 0);
        fdt.PropertyU32("timebase-frequency", options.TimebaseFrequency);

        for (int hart = 0; hart < options.Harts.Count; hart++)
        {
            RiscvVirtHart description = options.Harts[hart];
            fdt.BeginNode($"cpu@{hart:x}");
            fdt.PropertyPhandle(cpuPhandles[hart]);
            fdt.PropertyString("device_type", "cpu");
            fdt.PropertyU32("reg", (uint)hart);
            fdt.PropertyString("status", "okay");
            fdt.PropertyString("compatible", "riscv");
            fdt.PropertyString("riscv,isa", description.Isa);
            fdt.PropertyString("mmu-type", description.MmuType);

            fdt.BeginNode("interrupt-controller");
            fdt.PropertyU32("#interrupt-cells", 1);
            fdt.PropertyEmpty("interrupt-controller");
            fdt.PropertyString("compatible", "riscv,cpu-intc");
            fdt.PropertyPhandle(intcPhandles[hart]);
            fdt.EndNode();

            fdt.EndNode();
        }

        fdt.BeginNode("cpu-map");
        fdt.BeginNode("cluster0");
        for (int hart = 0; hart < options.Harts.Count; hart++)
        {
            fdt.BeginNode($"core{hart}");
            fdt.PropertyU32("cpu", cpuPhandles[hart]);
            fdt.EndNode();
        }

        fdt.EndNode();
        fdt.EndNode();
        fdt.EndNode();
    }

    private static void WriteSoc(FdtBuilder fdt, RiscvVirtDeviceTreeOptions options, uint[] intcPhandles, uint plicPhandle, uint testPhandle)
    {
        fdt.BeginNode("soc");
        fdt.PropertyU32("#address-cells", 2);
        fdt.PropertyU32("#size-cells", 2);
        fdt.PropertyString("compatible", "simple-bus");
        fdt.PropertyEmpty("ranges");

        if (options.HasRtc)
        {
            fdt.BeginNode($"rtc@{RtcBase:x}");
            fdt.PropertyU32("interrupts", (uint)RtcIrq);
            fdt.PropertyU32("interrupt-parent", plicPhandle);
            fdt.PropertyCells("reg", 0, (uint)RtcBase, 0, (uint)RtcSize);
            fdt.PropertyString("compatible", "google,goldfish-rtc");
            fdt.EndNode();
        }

        if (options.HasUart)
        {
            fdt.BeginNode($"serial@{UartBase:x}");
            fdt.PropertyU32("interrupts", (uint)UartIrq);
            fdt.PropertyU32("interrupt-parent", plicPhandle);
            fdt.PropertyU32("clock-frequency", Uart16550.ClockFrequency);
            fdt.PropertyCells("reg", 0, (uint)UartBase, 0, (uint)UartSize);
            fdt.PropertyString("compatible", "ns16550a");
            fdt.EndNode();
        }

        if (options.HasTest)
        {
            fdt.BeginNode($"test@{TestBase:x}");
            fdt.PropertyPhandle(testPhandle);
            fdt.PropertyCells("reg", 0, (uint)TestBase, 0, (uint)TestSize);
            fdt.PropertyStringList("compatible", "sifive,test1", "sifive,test0", "syscon");
            fdt.EndNode();
        }

        // Highest slot first, as QEMU lists them (see the remarks on probe order).
        foreach (int slot in options.VirtioSlots.OrderDescending())
        {
            ulong address = VirtioBase + (ulong)slot * VirtioStride;
            fdt.BeginNode($"virtio_mmio@{address:x}");
            fdt.PropertyU32("interrupts", (uint)VirtioFirstIrq + (uint)slot);
            fdt.PropertyU32("interrupt-parent", plicPhandle);
            fdt.PropertyCells("reg", 0, (uint)address, 0, (uint)VirtioStride);
            fdt.PropertyString("compatible", "virtio,mmio");
            fdt.EndNode();
        }

        int hartCount = options.Harts.Count;
        if (options.HasPlic)
        {
            // Each hart's M-mode context (MEIP, cause 11) then its S-mode context (SEIP, 9).
            var cells = new uint[hartCount * 4];
            for (int hart = 0; hart < hartCount; hart++)
            {
                cells[hart * 4] = intcPhandles[hart];
                cells[hart * 4 + 1] = 11;
                cells[hart * 4 + 2] = intcPhandles[hart];
                cells[hart * 4 + 3] = 9;
            }

            fdt.BeginNode($"plic@{PlicBase:x}");
            fdt.PropertyPhandle(plicPhandle);
            fdt.PropertyU32("riscv,ndev", Plic.VirtSourceCount - 1);
            fdt.PropertyCells("reg", 0, (uint)PlicBase, 0, (uint)Plic.WindowSize);
            fdt.PropertyCells("interrupts-extended", cells);
            fdt.PropertyEmpty("interrupt-controller");
            fdt.PropertyStringList("compatible", "sifive,plic-1.0.0", "riscv,plic0");
            fdt.PropertyU32("#address-cells", 0);
            fdt.PropertyU32("#interrupt-cells", 1);
            fdt.EndNode();
        }

        if (options.HasClint)
        {
            // Each hart's machine software (MSIP, 3) and machine timer (MTIP, 7) interrupts.
            var cells = new uint[hartCount * 4];
            for (int hart = 0; hart < hartCount; hart++)
            {
                cells[hart * 4] = intcPhandles[hart];
                cells[hart * 4 + 1] = 3;
                cells[hart * 4 + 2] = intcPhandles[hart];
                cells[hart * 4 + 3] = 7;
            }

            fdt.BeginNode($"clint@{ClintBase:x}");
            fdt.PropertyCells("interrupts-extended", cells);
            fdt.PropertyCells("reg", 0, (uint)ClintBase, 0, (uint)Clint.WindowSize);
            fdt.PropertyStringList("compatible", "sifive,clint0", "riscv,clint0");
            fdt.EndNode();
        }

        fdt.EndNode();
    }
}
