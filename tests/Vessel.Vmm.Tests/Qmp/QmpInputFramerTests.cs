using System.Text;
using Vessel.Vmm.Qmp;

namespace Vessel.Vmm.Tests.Qmp;

/// <summary>The QMP input stream cut into JSON values as QEMU's streamer cuts it, with bounded memory and QEMU's resynchronisation points.</summary>
public sealed class QmpInputFramerTests
{
    [Fact]
    public void ValuesAreCutByStructureNotByLines()
    {
        Assert.Equal(
            ["{\"execute\":\"a\"}", "{\"execute\":\n\"b\"}", "[1,{\"x\":[2]}]", "\"s}\"", "garbage", "12"],
            Values(Feed("{\"execute\":\"a\"}{\"execute\":\n\"b\"}  [1,{\"x\":[2]}]\n\"s}\" garbage 12\n")));
    }

    [Fact]
    public void AValueMaySpanAnyNumberOfReads()
    {
        var framer = new QmpInputFramer();
        var output = new List<FramedInput>();
        foreach (byte b in Encoding.UTF8.GetBytes("{\"execute\": \"query-status\", \"id\": \"é}\"}"))
        {
            framer.Feed([b], output);
        }

        Assert.Equal(["{\"execute\": \"query-status\", \"id\": \"é}\"}"], Values(output));
    }

    [Fact]
    public void SingleQuotedStringsBecomeStandardJson()
    {
        Assert.Equal(["{\"execute\": \"it's \\\"x\\\"\"}"], Values(Feed("{'execute': 'it\\'s \"x\"'}")));
    }

    [Fact]
    public void EscapedQuotesAndBracesInStringsDoNotEndTheValue()
    {
        Assert.Equal(["{\"a\":\"\\\"}]\\\\\"}"], Values(Feed("{\"a\":\"\\\"}]\\\\\"}")));
    }

    [Fact]
    public void StrayClosersAreErrorsOfTheirOwn()
    {
        List<FramedInput> output = Feed("}]{\"a\":1}");
        Assert.Equal(["JSON parse error, expecting value", "JSON parse error, expecting value"], output.Take(2).Select(o => o.Error));
        Assert.Equal(["{\"a\":1}"], Values(output));
    }

    [Fact]
    public void AnOversizedValueIsOneErrorAndTheNextLineIsReadNormally()
    {
        var framer = new QmpInputFramer();
        var output = new List<FramedInput>();
        byte[] chunk = new byte[64 * 1024];
        chunk.AsSpan().Fill((byte)'x');
        framer.Feed("{\"id\": \""u8, output);
        for (int i = 0; i < 160; i++)
        {
            framer.Feed(chunk, output); // 10 MiB in all, never held
        }

        framer.Feed("\"}\n{\"execute\": \"after\"}"u8, output);
        FramedInput error = Assert.Single(output, o => o.Error is not null);
        Assert.StartsWith("JSON parse error, input longer than 1048576 bytes", error.Error);
        Assert.Equal(["{\"execute\": \"after\"}"], Values(output));
    }

    [Fact]
    public void NestingDeeperThanTheLimitIsRefused()
    {
        List<FramedInput> output = Feed(new string('[', QmpInputFramer.MaxDepth + 1) + "\n[]");
        Assert.StartsWith("JSON parse error, nesting deeper than", output[0].Error);
        Assert.Equal(["[]"], Values(output));
    }

    [Fact]
    public void AControlCharacterInAStringEndsTheValueThere()
    {
        List<FramedInput> output = Feed("{\"execute\": \"query-sta\n{\"execute\": \"b\"}");
        Assert.Equal("JSON parse error, invalid control character in a string", output[0].Error);
        Assert.Equal(["{\"execute\": \"b\"}"], Values(output));
    }

    [Fact]
    public void TheResetByteAbandonsAHalfValue()
    {
        // qmp-spec: a client may send 0xFF to get the parser back to a known state.
        var framer = new QmpInputFramer();
        var output = new List<FramedInput>();
        framer.Feed("{\"execute\": [1, 2"u8, output);
        framer.Feed([0xFF], output);
        framer.Feed("{\"execute\": \"b\"}"u8, output);
        Assert.Equal("JSON parse error, invalid character", output[0].Error);
        Assert.Equal(["{\"execute\": \"b\"}"], Values(output));
    }

    private static List<FramedInput> Feed(string text)
    {
        var output = new List<FramedInput>();
        new QmpInputFramer().Feed(Encoding.UTF8.GetBytes(text), output);
        return output;
    }

    private static string[] Values(List<FramedInput> output) =>
        output.Where(o => o.Json is not null).Select(o => Encoding.UTF8.GetString(o.Json!)).ToArray();
}
