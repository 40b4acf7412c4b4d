namespace Vessel.Storage.Tests.Support;

/// <summary>qemu-img and qemu-io, the oracles for qcow2 interoperability.</summary>
public static class Qemu
{
    public static ProcessResult Img(params string[] arguments) => RunImg(arguments, directory: null);

    /// <summary>
    /// Runs qemu-img, trying again when it finds the image locked. Tests run in parallel and
    /// start child processes: between fork and exec a child holds a copy of every descriptor
    /// the test process has open (close-on-exec only closes them at exec), and with them the
    /// OFD locks on an image another test has just closed. The lock goes away by itself.
    /// Likewise when creating a LUKS-encrypted image fails with "Unable to get accurate CPU
    /// usage": qemu-img times PBKDF2 iterations on its thread's CPU clock to choose the count,
    /// and on a busy 2-core machine that measurement sometimes fails; a second try succeeds.
    /// </summary>
    private static ProcessResult RunImg(IReadOnlyList<string> arguments, string? directory)
    {
        for (int attempt = 1; ; attempt++)
        {
            ProcessResult result = ProcessRunner.Run("qemu-img", arguments, directory);
            bool transient = result.Stderr.Contains("Is another process using the image", StringComparison.Ordinal) ||
                result.Stderr.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal);
            if (attempt == 10 || !transient)
            {
                return result;
            }

            Thread.Sleep(100 * attempt);
        }
    }

    /// <summary>Runs qemu-img and fails the test when it does not exit with 0.</summary>
    public static string ImgOk(params string[] arguments)
    {
        ProcessResult result = Img(arguments);
        Assert.True(result.ExitCode == 0, $"qemu-img {string.Join(' ', arguments)} failed: {result}");
        return result.Stdout;
    }

    /// <summary>Runs qemu-img in a directory (relative names as the user would type them) and requires success.</summary>
    public static string ImgOkIn(string directory, params string[] arguments)
    {
        ProcessResult result = RunImg(arguments, directory);
        Assert.True(result.ExitCode == 0, $"qemu-img {string.Join(' ', arguments)} failed: {result}");
        return result.Stdout;
    }

    /// <summary>Runs qemu-io commands (-c each) on an image.</summary>
    public static void Io(string image, string format, params string[] commands)
    {
        var arguments = new List<string> { "-f", format };
        foreach (string command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(image);
        ProcessResult result = ProcessRunner.Run("qemu-io", arguments);
        Assert.True(result.ExitCode == 0 && !result.Stdout.Contains("failed", StringComparison.OrdinalIgnoreCase), $"qemu-io {string.Join(' ', arguments)}: {result}");
    }

    /// <summary>
    /// Reads the VM state QEMU sees in the active tree of an image (qemu-io's read -b, QEMU's
    /// bdrv_load_vmstate): after qemu-img snapshot -a, the state of that snapshot. Offset and
    /// length must be multiples of 512.
    /// </summary>
    public static byte[] ReadVmState(string image, long offset, int length)
    {
        ProcessResult result = ProcessRunner.Run("qemu-io", ["-f", "qcow2", "-c", $"read -b -v {offset} {length}", image]);
        Assert.True(result.ExitCode == 0 && !result.Stdout.Contains("failed", StringComparison.OrdinalIgnoreCase), $"qemu-io read -b: {result}");
        var bytes = new byte[length];
        int filled = 0;
        foreach (string line in result.Stdout.Split('\n'))
        {
            // "0004fde0:  00 11 22 ... ff  text": 16 bytes after the address, then the text column.
            int colon = line.IndexOf(':');
            if (colon != 8 || !long.TryParse(line.AsSpan(0, 8), System.Globalization.NumberStyles.HexNumber, null, out long address))
            {
                continue;
            }

            string[] hex = line[(colon + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < 16; i++)
            {
                bytes[address - offset + i] = Convert.ToByte(hex[i], 16);
            }

            filled += 16;
        }

        Assert.Equal(length, filled);
        return bytes;
    }

    /// <summary>qemu-img check's exit code (0 clean, 2 corruptions, 3 leaks).</summary>
    public static ProcessResult Check(string image) => Img("check", image);

    /// <summary>The guest-visible content of any image, as qemu-img converts it to raw.</summary>
    public static byte[] Content(string image, string directory)
    {
        string raw = Path.Combine(directory, "content-" + Guid.NewGuid().ToString("N")[..8] + ".raw");
        ImgOk("convert", "-O", "raw", image, raw);
        byte[] bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }
}
