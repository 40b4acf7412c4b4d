using Vessel.Vmm.Console;

namespace Vessel.Vmm.Tests.Console;

/// <summary>The console socket's history: the latest output up to its capacity, oldest first.</summary>
public sealed class ConsoleHistoryTests
{
    [Fact]
    public void KeepsEverythingUntilFull()
    {
        var history = new ConsoleHistory(8);
        history.Append("abc"u8);
        history.Append("de"u8);
        Assert.Equal("abcde"u8.ToArray(), history.Snapshot());
    }

    [Fact]
    public void ForgetsTheOldestAcrossTheWrap()
    {
        var history = new ConsoleHistory(8);
        history.Append("abcdef"u8);
        history.Append("ghij"u8);
        Assert.Equal("cdefghij"u8.ToArray(), history.Snapshot());
        history.Append("k"u8);
        Assert.Equal("defghijk"u8.ToArray(), history.Snapshot());
    }

    [Fact]
    public void AWriteLargerThanTheHistoryKeepsItsEnd()
    {
        var history = new ConsoleHistory(4);
        history.Append("xy"u8);
        history.Append("0123456789"u8);
        Assert.Equal("6789"u8.ToArray(), history.Snapshot());
    }

    [Fact]
    public void TheDefaultKeepsTheMebibyteTheWebConsoleReplays() =>
        Assert.Equal(1 << 20, new ConsoleHistory().Capacity);

    [Theory]
    [InlineData("stdio")]
    [InlineData("pty")]
    [InlineData("null")]
    [InlineData("file:/tmp/console.log")]
    [InlineData("unix:/tmp/console.sock")]
    [InlineData("unix:/tmp/console.sock,server=on,wait=off")]
    public void SerialSpellingsAreAccepted(string text) => Assert.NotNull(ConsoleBackend.Parse(text));

    [Theory]
    [InlineData("tcp::4444")]
    [InlineData("file:")]
    [InlineData("unix:/tmp/c.sock,wait=on")]
    [InlineData("vc")]
    public void OtherSerialSpellingsAreRefusedInOneSentence(string text)
    {
        FormatException e = Assert.Throws<FormatException>(() => ConsoleBackend.Parse(text));
        Assert.EndsWith(".", e.Message);
    }
}
