using Vessel.Vmm.Vnc;

namespace Vessel.Vmm.Tests.Vnc;

/// <summary>Every key of a US and a German keyboard: the keysym a client sends becomes the key the guest's layout has it on.</summary>
public sealed class KeysymMapTests
{
    [Theory]
    [InlineData('a', 30)]
    [InlineData('A', 30)]
    [InlineData('z', 44)]
    [InlineData('y', 21)]
    [InlineData('1', 2)]
    [InlineData('!', 2)]
    [InlineData('@', 3)]
    [InlineData('0', 11)]
    [InlineData('-', 12)]
    [InlineData('_', 12)]
    [InlineData('=', 13)]
    [InlineData('[', 26)]
    [InlineData(';', 39)]
    [InlineData('\'', 40)]
    [InlineData('`', 41)]
    [InlineData('\\', 43)]
    [InlineData(',', 51)]
    [InlineData('/', 53)]
    [InlineData('?', 53)]
    [InlineData(' ', 57)]
    [InlineData(0xff0d, 28)] // Return
    [InlineData(0xff08, 14)] // BackSpace
    [InlineData(0xffbe, 59)] // F1
    [InlineData(0xffc9, 88)] // F12
    [InlineData(0xffb7, 71)] // KP_7
    [InlineData(0xff52, 103)] // Up
    [InlineData(0xffe3, 29)] // Control_L
    [InlineData(0xfe03, 100)] // AltGr
    [InlineData(0xe4, 40)] // ä where a German keyboard has it
    public void UsLayout(uint keysym, int code)
    {
        Assert.True(KeysymMap.TryMap(keysym, VncKeymap.EnglishUs, out ushort mapped));
        Assert.Equal(code, mapped);
    }

    [Theory]
    [InlineData('z', 21)]
    [InlineData('Z', 21)]
    [InlineData('y', 44)]
    [InlineData(0xfc, 26)] // ü
    [InlineData(0xf6, 39)] // ö
    [InlineData(0xe4, 40)] // ä
    [InlineData(0xc4, 40)] // Ä
    [InlineData(0xdf, 12)] // ß
    [InlineData('?', 12)]
    [InlineData('\\', 12)] // AltGr+ß
    [InlineData('+', 27)]
    [InlineData('*', 27)]
    [InlineData('~', 27)]
    [InlineData('#', 43)]
    [InlineData('\'', 43)]
    [InlineData('<', 86)]
    [InlineData('>', 86)]
    [InlineData('|', 86)]
    [InlineData('-', 53)]
    [InlineData('_', 53)]
    [InlineData('"', 3)]
    [InlineData(0xa7, 4)] // §
    [InlineData('/', 8)]
    [InlineData('{', 8)]
    [InlineData('=', 11)]
    [InlineData('}', 11)]
    [InlineData('@', 16)]
    [InlineData(0x20ac, 18)] // €
    [InlineData(0xb5, 50)] // µ
    [InlineData(0xfe52, 41)] // dead_circumflex
    [InlineData(0xb0, 41)] // °
    [InlineData(0xfe51, 13)] // dead_acute
    public void GermanLayout(uint keysym, int code)
    {
        Assert.True(KeysymMap.TryMap(keysym, VncKeymap.German, out ushort mapped));
        Assert.Equal(code, mapped);
    }

    [Fact]
    public void EveryPrintableAsciiCharacterHasAKeyOnBothLayouts()
    {
        for (uint c = 0x20; c < 0x7f; c++)
        {
            Assert.True(KeysymMap.TryMap(c, VncKeymap.EnglishUs, out _), $"US: {(char)c}");
            Assert.True(KeysymMap.TryMap(c, VncKeymap.German, out _), $"German: {(char)c}");
        }

        Assert.False(KeysymMap.TryMap(0x0100_0000, VncKeymap.EnglishUs, out _));
    }
}
