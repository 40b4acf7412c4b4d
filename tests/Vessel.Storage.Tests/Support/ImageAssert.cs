namespace Vessel.Storage.Tests.Support;

/// <summary>Comparisons of image content that report the first difference, not a megabyte dump.</summary>
public static class ImageAssert
{
    public static void SameContent(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int diff = expected.CommonPrefixLength(actual);
        Assert.True(diff == expected.Length, $"{what}: first difference at byte {diff} (0x{diff:x}): got 0x{(diff < actual.Length ? actual[diff] : 0):x2}, expected 0x{(diff < expected.Length ? expected[diff] : 0):x2}");
    }

    public static byte[] ReadAll(IBlockDevice device)
    {
        var content = new byte[device.Length];
        const int chunk = 1 << 20;
        for (long offset = 0; offset < content.Length; offset += chunk)
        {
            int n = (int)Math.Min(chunk, content.Length - offset);
            device.Read(offset, content.AsSpan((int)offset, n));
        }

        return content;
    }

    /// <summary>qemu-img check must not report corruptions (exit 0, or 3 when <paramref name="allowLeaks"/>).</summary>
    public static void QemuCheckClean(string image, bool allowLeaks = false)
    {
        ProcessResult check = Qemu.Check(image);
        Assert.True(check.ExitCode == 0 || (allowLeaks && check.ExitCode == 3), $"qemu-img check {image}: {check}");
    }
}
