namespace Vessel.Network.Tests;

public sealed class MacAddressTests
{
    [Fact]
    public void GeneratedAddressesLookLikeQemusAndDiffer()
    {
        var seen = new HashSet<MacAddress>();
        for (int i = 0; i < 50; i++)
        {
            MacAddress mac = MacAddress.Generate();
            Assert.StartsWith("52:54:00:", mac.ToString());
            Assert.False(mac.IsMulticast);
            seen.Add(mac);
        }

        Assert.True(seen.Count > 40); // three random bytes: collisions are rare
    }

    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("02:00:00:00:00:01")]
    [InlineData("ae:0f:ff:10:20:30")]
    public void ParseAndFormatRoundTrip(string text)
    {
        MacAddress mac = MacAddress.Parse(text);
        Assert.Equal(text, mac.ToString());
        var bytes = new byte[6];
        mac.Write(bytes);
        Assert.Equal(Convert.FromHexString(text.Replace(":", "")), bytes);
        Assert.Equal(mac, MacAddress.Read(bytes));
    }

    [Fact]
    public void DashesAreAcceptedAndCaseIgnored() =>
        Assert.Equal(MacAddress.Parse("52:54:00:ab:cd:ef"), MacAddress.Parse("52-54-00-AB-CD-EF"));

    [Theory]
    [InlineData("")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:5g")]
    [InlineData("52:54-00:12:34:56")]
    [InlineData("525400123456")]
    public void BadTextIsRefused(string text) => Assert.False(MacAddress.TryParse(text, out _));
}
