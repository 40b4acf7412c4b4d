using System.Globalization;

namespace Vessel.IntegrationTests.Infrastructure;

/// <summary>
/// A disk laid out as distributions ship images for boards booted by U-Boot: a GPT whose one
/// partition (marked legacy-BIOS-bootable, which U-Boot's distro boot looks for) holds an ext4
/// file system with <c>/boot/extlinux/extlinux.conf</c> and the kernel and initrd it names.
/// Built without root or loop devices: sgdisk writes the partition table and mkfs.ext4 fills
/// the partition from a directory at its offset in the image file.
/// </summary>
public static class ExtlinuxDisk
{
    /// <summary>The label U-Boot prints in its extlinux menu ("1:\tvessel").</summary>
    public const string Label = "vessel";

    private const long MiB = 1024 * 1024;
    private const long PartitionStart = 1 * MiB;   // sector 2048, where sgdisk aligns partitions
    private const long PartitionSize = 16 * MiB;   // the reference kernel and initrd take about 5 MiB
    private const long BackupTableRoom = 1 * MiB;  // the backup GPT at the end of the disk

    /// <summary>
    /// Writes the disk to <paramref name="directory"/> with the reference kernel and initrd and
    /// <paramref name="commandLine"/> as the entry's append line; returns the image's path.
    /// </summary>
    public static string Create(TempDirectory directory, string commandLine)
    {
        string tree = directory.File("disk-root");
        Directory.CreateDirectory(Path.Combine(tree, "boot", "extlinux"));
        File.Copy(TestPaths.GuestKernel, Path.Combine(tree, "boot", "Image"));
        File.Copy(TestPaths.GuestInitrd, Path.Combine(tree, "boot", "initrd.gz"));
        File.WriteAllText(Path.Combine(tree, "boot", "extlinux", "extlinux.conf"), $"""
            default {Label}
            timeout 0

            label {Label}
                kernel /boot/Image
                initrd /boot/initrd.gz
                append {commandLine}

            """);

        string disk = directory.File("disk.img");
        using (FileStream file = File.Create(disk))
        {
            file.SetLength(PartitionStart + PartitionSize + BackupTableRoom);
        }

        long firstSector = PartitionStart / 512;
        long lastSector = firstSector + (PartitionSize / 512) - 1;
        ExternalTool.Run("sgdisk",
        [
            $"--new=1:{firstSector}:{lastSector}", "--typecode=1:8300", "--change-name=1:boot",
            "--attributes=1:set:2", disk,
        ]);
        ExternalTool.Run("mkfs.ext4",
        [
            "-q", "-F", "-L", "boot", "-d", tree,
            "-E", $"offset={PartitionStart.ToString(CultureInfo.InvariantCulture)}",
            disk, $"{(PartitionSize / 1024).ToString(CultureInfo.InvariantCulture)}k",
        ]);
        return disk;
    }
}
