using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Vessel.Vmm.Boards.RiscvVirt;

using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests.Boards;

/// <summary>
/// The <c>virt</c> board's device tree against the one QEMU 7.2 builds for the same
/// configuration (<c>-machine dumpdtb</c>), both decompiled by dtc: every node, in order, and
/// every property with its value must be the same; phandles are compared by the node they
/// point at, not by number.
/// </summary>
public sealed class RiscvVirtDeviceTreeTests
{
    /// <summary>
    /// Nodes QEMU adds for hardware Vessel's board does not have. Nothing else of QEMU's tree
    /// is left out of the comparison (besides virtio-mmio slots not in use and, when the harts
    /// have no performance counters, <see cref="PmuNode"/>).
    /// </summary>
    private static readonly string[] s_absentHardware =
    [
        "/fw-cfg@10100000",        // QEMU's firmware configuration interface
        "/flash@20000000",         // two CFI parallel flash banks
        "/platform-bus@4000000",   // QEMU's dynamic sysbus device container
        "/soc/pci@30000000",       // the PCIe host bridge
    ];

    // QEMU 7.2 always describes a PMU (even with pmu-num=0, then with a bogus counter mask).
    private const string PmuNode = "/pmu";

    // What QEMU 7.2's -cpu rv64 reports when its optional extensions are switched off, and the flags that do it.
    private const string Rv64gcQemuCpu = "rv64,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false,Zihintpause=false";
    private const string QemuDefaultIsa = "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc";

    private static readonly HashSet<string> s_phandleCellProperties = ["interrupt-parent", "regmap", "cpu"];

    public static TheoryData<BoardCase> Cases => new()
    {
        new BoardCase("one hart, no kernel", Harts: 1, RamMiB: 256, Append: null, Initrd: false, Slots: [0, 1, 2, 3, 4, 5, 6, 7]),
        new BoardCase("two harts, kernel, initrd, command line", Harts: 2, RamMiB: 512, Append: "console=ttyS0 panic=-1", Initrd: true, Slots: [0, 1, 2, 3, 4, 5, 6, 7]),
        new BoardCase("eight harts, two virtio slots", Harts: 8, RamMiB: 1024, Append: "root=/dev/vda rw", Initrd: false, Slots: [0, 3]),
        new BoardCase("three harts, 5 GiB, QEMU's default CPU with its PMU", Harts: 3, RamMiB: 5 * 1024, Append: "quiet", Initrd: true, Slots: [7], QemuDefaultCpu: true),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TreeMatchesQemus(BoardCase board)
    {
        using var temp = new TempDirectory();
        DtsTree qemu = QemuTree(board, temp);

        foreach (string path in s_absentHardware)
        {
            Assert.True(qemu.Remove(path), $"QEMU's tree no longer has {path}: update the list of absent hardware.");
        }

        if (!board.QemuDefaultCpu)
        {
            Assert.True(qemu.Remove(PmuNode), "QEMU's tree no longer has a PMU node.");
        }

        for (int slot = 0; slot < 8; slot++)
        {
            if (!board.Slots.Contains(slot))
            {
                Assert.True(qemu.Remove($"/soc/virtio_mmio@{0x1000_1000 + slot * 0x1000:x}"));
            }
        }

        DtsNode chosen = qemu.Find("/chosen")!;
        var options = new RiscvVirtDeviceTreeOptions
        {
            RamSize = board.RamMiB * 1024 * 1024,
            Harts = RiscvVirtHart.Uniform(board.Harts, board.QemuDefaultCpu ? QemuDefaultIsa : RiscvVirtHart.Rv64gcIsa, RiscvVirtHart.Sv48),
            Bootargs = board.Append,
            // Where QEMU put the initrd is its own choice; the encoding is what is compared.
            InitrdStart = board.Initrd ? ReadNumber(chosen.Properties["linux,initrd-start"]) : null,
            InitrdEnd = board.Initrd ? ReadNumber(chosen.Properties["linux,initrd-end"]) : null,
            VirtioSlots = board.Slots,
            HpmCounterCount = board.QemuDefaultCpu ? 16 : 0,
        };
        DtsTree ours = Decompile(RiscvVirtDeviceTree.Build(options), temp);

        AssertSameLines(Describe(qemu), Describe(ours));
    }

    [Fact]
    public void MmuTypeAndIsaComeFromEachHart()
    {
        using var temp = new TempDirectory();
        DtsTree tree = Decompile(
            RiscvVirtDeviceTree.Build(new RiscvVirtDeviceTreeOptions
            {
                RamSize = 128 << 20,
                Harts = [new RiscvVirtHart("rv64imac_zicsr", RiscvVirtHart.Sv39), new RiscvVirtHart(RiscvVirtHart.Rv64gcIsa, RiscvVirtHart.Sv48)],
            }),
            temp);

        Assert.Equal("riscv,sv39", Text(tree.Find("/cpus/cpu@0")!.Properties["mmu-type"]));
        Assert.Equal("rv64imac_zicsr", Text(tree.Find("/cpus/cpu@0")!.Properties["riscv,isa"]));
        Assert.Equal("riscv,sv48", Text(tree.Find("/cpus/cpu@1")!.Properties["mmu-type"]));
    }

    [Fact]
    public void ChosenCarriesWhatTheBoardWasGiven()
    {
        using var temp = new TempDirectory();
        byte[] seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        DtsTree tree = Decompile(
            RiscvVirtDeviceTree.Build(new RiscvVirtDeviceTreeOptions
            {
                RamSize = 8UL << 30,
                Harts = RiscvVirtHart.Uniform(1),
                InitrdStart = 0x2_0000_0000,
                InitrdEnd = 0x2_0010_0000,
                RngSeed = seed,
                StdoutPath = "/soc/virtio_mmio@10001000",
                VirtioSlots = [0],
            }),
            temp);

        DtsNode chosen = tree.Find("/chosen")!;
        // Above 4 GiB a single cell cannot hold the address: two cells, read the same way by Linux.
        Assert.Equal(8, chosen.Properties["linux,initrd-start"].Length);
        Assert.Equal(0x2_0000_0000UL, ReadNumber(chosen.Properties["linux,initrd-start"]));
        Assert.Equal(0x2_0010_0000UL, ReadNumber(chosen.Properties["linux,initrd-end"]));
        Assert.Equal(seed, chosen.Properties["rng-seed"]);
        Assert.Equal("/soc/virtio_mmio@10001000", Text(chosen.Properties["stdout-path"]));
        Assert.False(chosen.Properties.ContainsKey("bootargs"));

        DtsTree noSeed = Decompile(
            RiscvVirtDeviceTree.Build(new RiscvVirtDeviceTreeOptions { RamSize = 1 << 30, Harts = RiscvVirtHart.Uniform(1), RngSeed = [] }),
            temp);
        Assert.False(noSeed.Find("/chosen")!.Properties.ContainsKey("rng-seed"));
    }

    [Fact]
    public void ImpossibleBoardsAreRefusedWithAClearReason()
    {
        static RiscvVirtDeviceTreeOptions Valid() => new() { RamSize = 1 << 30, Harts = RiscvVirtHart.Uniform(1) };

        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { Harts = [] }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { Harts = RiscvVirtHart.Uniform(9) }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { RamSize = 0 }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { VirtioSlots = [8] }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { VirtioSlots = [1, 1] }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { InitrdStart = 0x8800_0000 }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { InitrdStart = 2, InitrdEnd = 1 }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { HasPlic = false }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { Harts = [new RiscvVirtHart("x86", RiscvVirtHart.Sv39)] }));
        Assert.Throws<ArgumentException>(() => RiscvVirtDeviceTree.Build(Valid() with { FreeSpace = -1 }));
    }

    private static DtsTree QemuTree(BoardCase board, TempDirectory temp)
    {
        var arguments = new List<string>
        {
            "-M", "virt",
            "-machine", "dumpdtb=" + temp.File("qemu.dtb"),
            "-smp", board.Harts.ToString(CultureInfo.InvariantCulture),
            "-m", board.RamMiB.ToString(CultureInfo.InvariantCulture) + "M",
            "-display", "none", "-serial", "null", "-monitor", "none",
        };
        if (!board.QemuDefaultCpu)
        {
            arguments.AddRange(["-cpu", Rv64gcQemuCpu]);
        }

        if (board.Append is not null || board.Initrd)
        {
            // QEMU only writes bootargs and the initrd range when it loads a kernel; any bytes do.
            File.WriteAllBytes(temp.File("kernel"), new byte[4096]);
            arguments.AddRange(["-kernel", temp.File("kernel")]);
            if (board.Append is not null)
            {
                arguments.AddRange(["-append", board.Append]);
            }

            if (board.Initrd)
            {
                File.WriteAllBytes(temp.File("initrd"), new byte[12345]);
                arguments.AddRange(["-initrd", temp.File("initrd")]);
            }
        }

        ExternalTool.Run("qemu-system-riscv64", arguments);
        return DtsTree.Parse(ExternalTool.Run("dtc", ["-q", "-I", "dtb", "-O", "dts", temp.File("qemu.dtb")]));
    }

    private static DtsTree Decompile(byte[] blob, TempDirectory temp)
    {
        string path = temp.File($"vessel-{Guid.NewGuid():N}.dtb");
        File.WriteAllBytes(path, blob);
        return DtsTree.Parse(ExternalTool.Run("dtc", ["-q", "-I", "dtb", "-O", "dts", path]));
    }

    /// <summary>The tree as lines: nodes in order, properties by name, phandles as the paths they name.</summary>
    private static List<string> Describe(DtsTree tree)
    {
        Dictionary<uint, string> phandles = tree.Phandles();
        var lines = new List<string>();
        Walk(tree.Root);
        return lines;

        void Walk(DtsNode node)
        {
            lines.Add(node.Path + " {");
            foreach ((string name, byte[] value) in node.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lines.Add($"{node.Path}:{name} = {Render(name, value, phandles)}");
            }

            foreach (DtsNode child in node.Children)
            {
                Walk(child);
            }

            lines.Add(node.Path + " }");
        }
    }

    private static string Render(string name, byte[] value, Dictionary<uint, string> phandles)
    {
        string Reference(uint phandle) => phandles.TryGetValue(phandle, out string? path) ? "&" + path : $"&?{phandle}";

        uint[] cells = value.Length % 4 == 0
            ? Enumerable.Range(0, value.Length / 4).Select(i => BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(i * 4))).ToArray()
            : [];
        if (name == "phandle")
        {
            return "<this node>";
        }

        if (s_phandleCellProperties.Contains(name))
        {
            return string.Join(' ', cells.Select(Reference));
        }

        if (name == "interrupts-extended")
        {
            // Every interrupt parent here (a hart's intc) takes one cell per interrupt.
            return string.Join(' ', cells.Select((cell, i) => i % 2 == 0 ? Reference(cell) : cell.ToString(CultureInfo.InvariantCulture)));
        }

        if (name == "rng-seed")
        {
            return $"<{value.Length} random bytes>";
        }

        if (value.Length > 0 && value[^1] == 0 && value.All(b => b == 0 || b is >= 0x20 and < 0x7f) && value[0] != 0)
        {
            return string.Join(", ", Encoding.ASCII.GetString(value, 0, value.Length - 1).Split('\0').Select(part => $"\"{part}\""));
        }

        return cells.Length > 0
            ? "<" + string.Join(' ', cells.Select(c => $"0x{c:x}")) + ">"
            : "[" + Convert.ToHexString(value) + "]";
    }

    private static void AssertSameLines(List<string> qemu, List<string> vessel)
    {
        for (int i = 0; i < Math.Max(qemu.Count, vessel.Count); i++)
        {
            string? expected = i < qemu.Count ? qemu[i] : null;
            string? actual = i < vessel.Count ? vessel[i] : null;
            if (expected != actual)
            {
                Assert.Fail($"The trees differ at line {i}:\n  QEMU:   {expected ?? "(end of tree)"}\n  Vessel: {actual ?? "(end of tree)"}");
            }
        }

        Assert.True(qemu.Count > 100, "QEMU's tree looks too small to be real.");
    }

    private static ulong ReadNumber(byte[] value) => value.Length switch
    {
        4 => BinaryPrimitives.ReadUInt32BigEndian(value),
        8 => BinaryPrimitives.ReadUInt64BigEndian(value),
        _ => throw new FormatException($"A number of {value.Length} bytes."),
    };

    private static string Text(byte[] value) => Encoding.ASCII.GetString(value).TrimEnd('\0');

    public sealed record BoardCase(string Name, int Harts, ulong RamMiB, string? Append, bool Initrd, int[] Slots, bool QemuDefaultCpu = false)
    {
        public override string ToString() => Name;
    }
}
