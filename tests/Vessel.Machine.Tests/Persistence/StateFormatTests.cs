using System.Buffers.Binary;
using Vessel.Machine.Persistence;

namespace Vessel.Machine.Tests.Persistence;

/// <summary>
/// The saved-state container: what is written reads back record by record, and every way a
/// state can be broken (cut anywhere, a byte changed anywhere, another kind of file, a newer
/// writer) is refused with a <see cref="StateFormatException"/>, never read as something else.
/// </summary>
public sealed class StateFormatTests
{
    private const int Page = StateFormat.PageSize;

    private static byte[] SampleState(out byte[] pages)
    {
        pages = new byte[3 * Page];
        new Random(7).NextBytes(pages);
        using var stream = new MemoryStream();
        var writer = new StateWriter(stream);
        writer.WriteSection("machine", 1, "{\"a\":1}"u8);
        writer.WritePages(0x8000_0000, pages);
        writer.WriteZeroPages(0x8000_4000, 5);
        writer.WriteSection("clock", 2, "{\"Ticks\":42}"u8);
        writer.WriteEnd();
        return stream.ToArray();
    }

    [Fact]
    public void RecordsReadBackAsWritten()
    {
        byte[] state = SampleState(out byte[] pages);
        var reader = new StateReader(new MemoryStream(state));
        Assert.Equal(StateFormat.CurrentVersion, reader.FormatVersion);

        Assert.Equal(StateRecordKind.Section, reader.Next());
        Assert.Equal("machine", reader.SectionName);
        Assert.Equal(1u, reader.SectionVersion);
        Assert.Equal("{\"a\":1}"u8.ToArray(), reader.SectionPayload);

        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.Equal(0x8000_0000UL, reader.PagesAddress);
        Assert.Equal(3, reader.PageCount);
        Assert.False(reader.PagesAreZero);
        Assert.Equal(pages, reader.PageData.ToArray());

        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.Equal(0x8000_4000UL, reader.PagesAddress);
        Assert.Equal(5, reader.PageCount);
        Assert.True(reader.PagesAreZero);

        Assert.Equal(StateRecordKind.Section, reader.Next());
        Assert.Equal("clock", reader.SectionName);
        Assert.Equal(2u, reader.SectionVersion);

        Assert.Equal(StateRecordKind.End, reader.Next());
        Assert.Equal(state.Length, reader.Position);
    }

    [Fact]
    public void ACopyRecordReadsBackWithItsSource()
    {
        using var stream = new MemoryStream();
        var writer = new StateWriter(stream);
        writer.WritePages(0x8000_0000, new byte[Page]);
        writer.WriteCopiedPages(0x8000_2000, 2, 0x8000_8000);
        writer.WriteEnd();
        var reader = new StateReader(new MemoryStream(stream.ToArray()));
        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.Null(reader.PagesCopiedFrom);
        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.Equal(0x8000_2000UL, reader.PagesAddress);
        Assert.Equal(2, reader.PageCount);
        Assert.False(reader.PagesAreZero);
        Assert.Equal(0x8000_8000UL, reader.PagesCopiedFrom);
        Assert.True(reader.PageData.IsEmpty);
        Assert.Equal(StateRecordKind.End, reader.Next());

        // A copy onto itself is no copy: neither written nor read.
        Assert.Throws<ArgumentException>(() => writer.WriteCopiedPages(0x8000_2000, 2, 0x8000_3000));
    }

    [Fact]
    public void AFormat1StateStillReadsAndMayHoldNoCopy()
    {
        // Format 1 (before copy records) is this format without them: the same sample, relabelled.
        byte[] state = SampleState(out byte[] pages);
        Relabel(state, 1);
        var reader = new StateReader(new MemoryStream(state));
        Assert.Equal(1u, reader.FormatVersion);
        Assert.Equal(StateRecordKind.Section, reader.Next());
        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.Equal(pages, reader.PageData.ToArray());
        Assert.Equal(StateRecordKind.Pages, reader.Next());
        Assert.True(reader.PagesAreZero);
        Assert.Equal(StateRecordKind.Section, reader.Next());
        Assert.Equal(StateRecordKind.End, reader.Next());

        using var stream = new MemoryStream();
        var writer = new StateWriter(stream);
        writer.WriteCopiedPages(0x8000_2000, 1, 0x8000_8000);
        writer.WriteEnd();
        byte[] withCopy = stream.ToArray();
        Relabel(withCopy, 1);
        Assert.Throws<StateFormatException>(() => ReadAll(withCopy));
    }

    private static void Relabel(byte[] state, uint version)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(8), version);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(12), Crc32C.Compute(state.AsSpan(0, 12)));
    }

    [Fact]
    public void AStateCutAnywhereIsRefused()
    {
        byte[] state = SampleState(out _);
        for (int length = 0; length < state.Length; length++)
        {
            Assert.Throws<StateFormatException>(() => ReadAll(state.AsSpan(0, length).ToArray()));
        }
    }

    [Fact]
    public void AnyChangedByteIsRefused()
    {
        byte[] state = SampleState(out _);
        for (int i = 0; i < state.Length; i++)
        {
            byte[] corrupt = (byte[])state.Clone();
            corrupt[i] ^= 0x10;
            Assert.Throws<StateFormatException>(() => ReadAll(corrupt));
        }
    }

    [Fact]
    public void ForeignFilesAreRefusedWithASentenceThatSaysSo()
    {
        var e = Assert.Throws<StateFormatException>(() => new StateReader(new MemoryStream("#!/bin/sh\necho this is a script\n"u8.ToArray())));
        Assert.Contains("not a Vessel machine state", e.Message, StringComparison.Ordinal);
        Assert.Throws<StateFormatException>(() => new StateReader(new MemoryStream([])));
    }

    [Fact]
    public void ANewerFormatIsRefusedWithASentenceThatSaysSo()
    {
        byte[] state = SampleState(out _);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(8), StateFormat.CurrentVersion + 1);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(12), Crc32C.Compute(state.AsSpan(0, 12)));
        var e = Assert.Throws<StateFormatException>(() => new StateReader(new MemoryStream(state)));
        Assert.Contains("newer Vessel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownRecordKindIsRefused()
    {
        using var stream = new MemoryStream();
        _ = new StateWriter(stream);
        stream.Write("ZZZZ\0\0\0\0"u8);
        Assert.Throws<StateFormatException>(() => ReadAll(stream.ToArray()));
    }

    [Fact]
    public void ARamRegionInAFileReadsBackMappedOrStreamed()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "state");
        byte[] page = new byte[Page];
        new Random(3).NextBytes(page);
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
        {
            var writer = new StateWriter(file);
            writer.WriteSection("machine", 1, "{}"u8);
            MappedRamRegion region = writer.BeginMappedRam(0x8000_0000, 64 * Page);
            StateWriter.WriteRegionPages(region, 0x8000_0000 + (10 * Page), page);
            writer.WriteSection("clock", 1, "{}"u8);
            writer.WriteEnd();
        }

        // From the file: the region is skipped (to be mapped), the records after it follow.
        using (var file = File.OpenRead(path))
        {
            var reader = new StateReader(file);
            Assert.Equal(StateRecordKind.Section, reader.Next());
            Assert.Equal(StateRecordKind.MappedRam, reader.Next());
            Assert.Equal(0, reader.MappedRam.DataOffset % Page);
            Assert.True(reader.SkipMappedRegion());
            Assert.Equal(StateRecordKind.Section, reader.Next());
            Assert.Equal("clock", reader.SectionName);
            Assert.Equal(StateRecordKind.End, reader.Next());
        }

        // From a pipe: the region is read through, its non-zero pages handed out.
        var seen = new List<(ulong Address, byte[] Data)>();
        var nonSeekable = new NonSeekableStream(File.ReadAllBytes(path));
        var streamed = new StateReader(nonSeekable);
        streamed.Next();
        Assert.Equal(StateRecordKind.MappedRam, streamed.Next());
        Assert.False(streamed.SkipMappedRegion());
        streamed.ReadMappedRegion((address, data) => seen.Add((address, data.ToArray())));
        Assert.Equal(StateRecordKind.Section, streamed.Next());
        (ulong address, byte[] data) = Assert.Single(seen);
        Assert.Equal(0x8000_0000UL + (10 * Page), address);
        Assert.Equal(page, data);
    }

    [Fact]
    public void ATruncatedRamRegionIsRefused()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "state");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
        {
            var writer = new StateWriter(file);
            writer.WriteSection("machine", 1, "{}"u8);
            writer.BeginMappedRam(0x8000_0000, 64 * Page);
            writer.WriteEnd();
        }

        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.SetLength(file.Length - (20 * Page));
        }

        using var truncated = File.OpenRead(path);
        var reader = new StateReader(truncated);
        reader.Next();
        reader.Next();
        Assert.Throws<StateFormatException>(() => reader.SkipMappedRegion());
    }

    private static void ReadAll(byte[] state)
    {
        var reader = new StateReader(new MemoryStream(state));
        while (reader.Next() != StateRecordKind.End)
        {
        }
    }

    /// <summary>A stream that cannot seek, as a socket or a pipe.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
