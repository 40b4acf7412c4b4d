using System.Buffers.Binary;
using Vessel.Machine.DeviceTree;

namespace Vessel.Machine.Tests.DeviceTree;

public sealed class FdtBuilderTests
{
    // The same tree written by hand in DTS; dtc compiles it and is the oracle.
    private const string ReferenceSource = """
        /dts-v1/;
        /memreserve/ 0x80000000 0x200000;
        /memreserve/ 0x1234567800000000 0x1000;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            compatible = "vessel,test";
            flag;
            big = /bits/ 64 <0x123456789abcdef0>;
            list = "one", "two", "three";
            raw = [01 02 03];
            text = "héllo wörld";

            node@1000 {
                reg = <0x0 0x1000 0x0 0x100>;
                compatible = "vessel,child";
                phandle = <1>;

                grandchild {
                    empty-cells = <>;
                };
            };

            other {
                ref = <1>;
                compatible = "vessel,child";
                value = <0xdeadbeef>;
            };
        };
        """;

    [Fact]
    public void TheBlobDecompilesToTheSameTreeAsDtcsOwnCompilation()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("reference.dts"), ReferenceSource);
        Dtc.Compile(temp.File("reference.dts"), temp.File("reference.dtb"), "-b", "2");

        var fdt = new FdtBuilder { BootCpuId = 2 };
        fdt.AddMemoryReservation(0x8000_0000, 0x20_0000);
        fdt.AddMemoryReservation(0x1234_5678_0000_0000, 0x1000);
        fdt.BeginNode("");
        fdt.PropertyU32("#address-cells", 2);
        fdt.PropertyU32("#size-cells", 2);
        fdt.PropertyString("compatible", "vessel,test");
        fdt.PropertyEmpty("flag");
        fdt.PropertyU64("big", 0x1234_5678_9abc_def0);
        fdt.PropertyStringList("list", "one", "two", "three");
        fdt.PropertyBytes("raw", [1, 2, 3]);
        fdt.PropertyString("text", "héllo wörld");
        uint phandle = fdt.AllocatePhandle();
        fdt.BeginNode("node@1000");
        fdt.PropertyCells("reg", 0, 0x1000, 0, 0x100);
        fdt.PropertyString("compatible", "vessel,child");
        fdt.PropertyPhandle(phandle);
        fdt.BeginNode("grandchild");
        fdt.PropertyCells("empty-cells");
        fdt.EndNode();
        fdt.EndNode();
        fdt.BeginNode("other");
        fdt.PropertyU32("ref", phandle);
        fdt.PropertyString("compatible", "vessel,child");
        fdt.PropertyU32("value", 0xdead_beef);
        fdt.EndNode();
        fdt.EndNode();
        byte[] blob = fdt.Build();
        File.WriteAllBytes(temp.File("ours.dtb"), blob);

        string decompiled = Dtc.Decompile(temp.File("ours.dtb"));
        Assert.Contains("node@1000 {", decompiled);
        Assert.Contains("/memreserve/", decompiled);
        Assert.Equal(Dtc.Decompile(temp.File("reference.dtb")), decompiled);

        byte[] reference = File.ReadAllBytes(temp.File("reference.dtb"));
        Assert.Equal(FdtBuilder.Magic, Header(blob, 0));
        Assert.Equal((uint)blob.Length, Header(blob, 1));
        Assert.Equal(Header(reference, 5), Header(blob, 5)); // version 17
        Assert.Equal(Header(reference, 6), Header(blob, 6)); // last compatible version 16
        Assert.Equal(Header(reference, 7), Header(blob, 7)); // boot cpu
        Assert.Equal(Header(reference, 9), Header(blob, 9)); // structure block: same tokens, same size
        Assert.Equal(0u, Header(blob, 4) % 8); // reservation block is 8-byte aligned
    }

    [Fact]
    public void PropertyNamesAreStoredOnceInTheStringsBlock()
    {
        var fdt = new FdtBuilder();
        fdt.BeginNode("");
        fdt.PropertyString("compatible", "a");
        for (int i = 0; i < 3; i++)
        {
            fdt.BeginNode($"n@{i}");
            fdt.PropertyString("compatible", "b");
            fdt.PropertyU32("reg", (uint)i);
            fdt.EndNode();
        }

        fdt.EndNode();
        byte[] blob = fdt.Build();
        Assert.Equal((uint)("compatible".Length + 1 + "reg".Length + 1), Header(blob, 8));
    }

    [Fact]
    public void MisuseIsReportedWhereItHappens()
    {
        var fdt = new FdtBuilder();
        Assert.Throws<ArgumentException>(() => fdt.BeginNode("notroot"));
        fdt.BeginNode("");
        Assert.Throws<ArgumentException>(() => fdt.BeginNode("bad name"));
        Assert.Throws<ArgumentException>(() => fdt.BeginNode("x@"));
        Assert.Throws<ArgumentException>(() => fdt.BeginNode(new string('a', 32)));
        Assert.Throws<ArgumentException>(() => fdt.PropertyU32("bad/name", 1));
        fdt.PropertyU32("#size-cells", 1);
        Assert.Throws<ArgumentException>(() => fdt.PropertyU32("#size-cells", 2));
        Assert.Throws<ArgumentException>(() => fdt.PropertyString("s", "a\0b"));
        fdt.BeginNode("child");
        fdt.EndNode();
        Assert.Throws<ArgumentException>(() => fdt.BeginNode("child"));
        Assert.Throws<InvalidOperationException>(() => fdt.PropertyU32("late", 1));
        Assert.Throws<InvalidOperationException>(() => fdt.Build());
        fdt.EndNode();
        Assert.Throws<InvalidOperationException>(() => fdt.EndNode());
        Assert.Throws<InvalidOperationException>(() => fdt.BeginNode(""));
        Assert.NotEmpty(fdt.Build());
    }

    [Fact]
    public void FreeSpaceIsCountedInTotalSizeAndLeavesTheTreeAsDtcPadsIt()
    {
        // dtc -p N pads a blob with N zero bytes inside totalsize: the oracle for the layout.
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("small.dts"), "/dts-v1/;\n/ {\n\tcompatible = \"vessel,test\";\n};\n");
        Dtc.Compile(temp.File("small.dts"), temp.File("padded.dtb"), "-p", "4096");

        var fdt = new FdtBuilder { FreeSpace = 4096 };
        fdt.BeginNode("");
        fdt.PropertyString("compatible", "vessel,test");
        fdt.EndNode();
        byte[] blob = fdt.Build();

        Assert.Equal(File.ReadAllBytes(temp.File("padded.dtb")), blob);
        Assert.Equal((uint)blob.Length, Header(blob, 1));
        Assert.Equal(Header(blob, 3) + Header(blob, 8) + 4096, Header(blob, 1)); // strings end + free space
        Assert.Throws<ArgumentOutOfRangeException>(() => new FdtBuilder { FreeSpace = -1 });
    }

    [Fact]
    public void PhandlesAreHandedOutFromOne()
    {
        var fdt = new FdtBuilder();
        Assert.Equal(1u, fdt.AllocatePhandle());
        Assert.Equal(2u, fdt.AllocatePhandle());
    }

    private static uint Header(byte[] blob, int field) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(field * 4));
}
