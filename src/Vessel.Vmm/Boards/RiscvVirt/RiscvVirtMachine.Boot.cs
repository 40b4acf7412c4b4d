using Vessel.Cpu.Riscv;
using Vessel.Vmm.Boot;
using static Vessel.Vmm.Boards.RiscvVirt.RiscvVirtMemoryMap;

namespace Vessel.Vmm.Boards.RiscvVirt;

/// <summary>Booting: where firmware, kernel, initrd and device tree go, and how the harts start.</summary>
public sealed partial class RiscvVirtMachine
{
    private const ulong MiB = 1024 * 1024;
    private const ulong FdtAlignment = 2 * MiB;
    private const ulong FirmwareDynamicInfoMagic = 0x4942534f; // "OSBI"

    /// <summary>
    /// Room the built-in SBI leaves at the end of the device tree it hands to the S-mode stage,
    /// as OpenSBI does (its fix-ups grow the tree in place by about 1 KiB). A boot loader such
    /// as U-Boot edits the tree where it lies, assuming room after it: /chosen gains bootargs
    /// (the extlinux append line, at most 256 bytes in Debian's U-Boot), the initrd range and
    /// boot-hartid. U-Boot keeps its copy of the tree right below its global data, so without
    /// this room its edits overwrite that data and it faults after "Starting kernel ...".
    /// </summary>
    private const int BuiltinFirmwareTreeFreeSpace = 4096;

    /// <summary>
    /// Loads the firmware, kernel, initrd and device tree into RAM and starts the harts as the
    /// configuration asks: the first boot, and every boot after <see cref="ResetInPlace"/>.
    /// </summary>
    public void Boot()
    {
        VirtualMachineConfiguration config = _configuration;
        BootImage kernel = BootImage.LoadKernel(config.KernelPath);
        byte[]? initrd = config.InitrdPath is null ? null : BootImage.ReadFile(config.InitrdPath, $"initrd file '{config.InitrdPath}'");

        // Firmware first: it decides where the kernel may go (QEMU: the next 2 MiB boundary).
        ulong firmwareEntry = 0;
        ulong kernelAddress;
        switch (config.Firmware)
        {
            case FirmwareKind.File:
            {
                BootImage firmware = BootImage.LoadFirmware(config.FirmwarePath!);
                (firmwareEntry, ulong firmwareEnd) = firmware.LoadInto(_memory, RamBase);
                kernelAddress = AlignUp(firmwareEnd, 2 * MiB);
                break;
            }

            case FirmwareKind.None:
                kernelAddress = RamBase;
                break;

            default:
                // Nothing lives below the kernel: honour the Image header's text_offset.
                kernelAddress = RamBase + (kernel.Kind == BootImageKind.LinuxImage ? kernel.TextOffset : 0);
                break;
        }

        (ulong kernelEntry, ulong kernelEnd) = kernel.LoadInto(_memory, kernelAddress);

        // The device tree goes at the top of RAM, the initrd just below it, as high as possible
        // so that the kernel can use everything underneath.
        byte[] probeTree = BuildDeviceTree(null);
        ulong fdtAddress = AlignDown(Math.Min(_memory.End, RamBase + (3072 * MiB)) - (ulong)probeTree.Length - 4096, FdtAlignment);
        ulong dynamicInfoAddress = fdtAddress - 64;
        (ulong Start, ulong End)? initrdRange = null;
        ulong lowestHighItem = dynamicInfoAddress;
        if (initrd is not null)
        {
            ulong start = AlignDown(dynamicInfoAddress - (ulong)initrd.Length, 4096);
            initrdRange = (start, start + (ulong)initrd.Length);
            lowestHighItem = start;
        }

        if (fdtAddress < RamBase || lowestHighItem < kernelEnd || lowestHighItem > fdtAddress)
        {
            ulong needed = (kernelEnd - RamBase + (ulong)(initrd?.Length ?? 0) + (ulong)probeTree.Length) / MiB + 4;
            throw new VmmException(
                $"--memory {_memory.Size / MiB}M is too small for the kernel ({(kernelEnd - kernelAddress) / MiB + 1} MiB)"
                + (initrd is null ? string.Empty : $" and initrd ({(ulong)initrd.Length / MiB + 1} MiB)")
                + $"; give the VM at least {AlignUp(needed, 2) }M.");
        }

        if (initrd is not null)
        {
            _memory.WriteBytes(initrdRange!.Value.Start, initrd);
        }

        byte[] tree = BuildDeviceTree(initrdRange);
        _memory.WriteBytes(fdtAddress, tree);

        switch (config.Firmware)
        {
            case FirmwareKind.Builtin:
                _processor.UseBuiltinFirmware(this);
                for (int i = 0; i < _processor.Harts.Count; i++)
                {
                    Hart hart = _processor.Harts[i];
                    if (i == 0)
                    {
                        hart.StartInSupervisorMode(kernelEntry, (ulong)hart.HartId, fdtAddress);
                    }
                    else
                    {
                        hart.StopUntilStarted();
                    }
                }

                break;

            case FirmwareKind.File:
                WriteFirmwareDynamicInfo(dynamicInfoAddress, kernelAddress);
                StartAllHartsInMachineMode(firmwareEntry, fdtAddress, dynamicInfoAddress);
                break;

            case FirmwareKind.None:
                StartAllHartsInMachineMode(kernelEntry, fdtAddress, 0);
                break;
        }
    }

    private void StartAllHartsInMachineMode(ulong entry, ulong fdtAddress, ulong a2)
    {
        foreach (Hart hart in _processor.Harts)
        {
            hart.Reset(entry);
            hart.SetRegister(10, (ulong)hart.HartId);
            hart.SetRegister(11, fdtAddress);
            hart.SetRegister(12, a2);
        }
    }

    /// <summary>OpenSBI's fw_dynamic handoff: where the next stage is and in which mode to start it.</summary>
    private void WriteFirmwareDynamicInfo(ulong address, ulong nextAddress)
    {
        _memory.Write(address, FirmwareDynamicInfoMagic);
        _memory.Write(address + 8, 2UL);            // version
        _memory.Write(address + 16, nextAddress);   // next_addr
        _memory.Write(address + 24, 1UL);           // next_mode: S
        _memory.Write(address + 32, 0UL);           // options
        _memory.Write(address + 40, 0UL);           // boot_hart
    }

    private byte[] BuildDeviceTree((ulong Start, ulong End)? initrd)
    {
        var options = new RiscvVirtDeviceTreeOptions
        {
            RamBase = RamBase,
            RamSize = _memory.Size,
            Harts = RiscvVirtHart.Uniform(_configuration.Cpus),
            Bootargs = _configuration.CommandLine,
            VirtioSlots = _virtioSlots,
            InitrdStart = initrd?.Start,
            InitrdEnd = initrd?.End,
            FreeSpace = _configuration.Firmware == FirmwareKind.Builtin ? BuiltinFirmwareTreeFreeSpace : 0,
        };
        return RiscvVirtDeviceTree.Build(options);
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);

    private static ulong AlignDown(ulong value, ulong alignment) => value & ~(alignment - 1);
}
