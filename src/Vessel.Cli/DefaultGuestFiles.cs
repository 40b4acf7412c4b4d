namespace Vessel.Cli;

/// <summary>
/// The default guest as built by <c>tools/guest/build-guest</c>: a kernel, an initramfs whose
/// <c>/init</c> prints <c>GUEST-UP</c> and starts a shell, and an ext4 root disk.
/// </summary>
/// <param name="Kernel">The flat RISC-V Linux <c>Image</c>.</param>
/// <param name="Initrd">The gzip'd cpio initramfs.</param>
/// <param name="RootDisk">
/// The 64 MiB ext4 root file system, a raw image. It lives in the shared cache: boot a copy or an
/// overlay of it, never the file itself read-write (the guest writes to its root).
/// </param>
/// <param name="CommandLine">The kernel command line for booting the initramfs.</param>
/// <param name="RootDiskCommandLine">The kernel command line for booting from <see cref="RootDisk"/> as <c>/dev/vda</c>.</param>
internal sealed record DefaultGuestFiles(
    string Kernel,
    string Initrd,
    string RootDisk,
    string CommandLine,
    string RootDiskCommandLine);
