using System.Globalization;

// bench/display (issue #14): what a display costs, beside QEMU 7.2 on the same guest and kernel.
//   - VNC bytes and frames per second received by one viewer while the guest scrolls text on
//     its framebuffer console at full speed (bounded: SCROLL_SECONDS of `seq` to /dev/tty1),
//     and while the screen is idle (only the cursor blinks);
//   - CPU used by the idle VMM with a display and one viewer, beside the same VM without one.
// Usage: DisplayBench VESSEL_DLL KERNEL INITRD [seconds]
string vessel = args[0];
string kernel = args[1];
string initrd = args[2];
double window = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 10;
const string Append = "console=ttyS0 panic=-1 quiet";
const string Prompt = "/ # ";
TimeSpan boot = TimeSpan.FromMinutes(5);
var rows = new List<(string What, string Vessel, string Qemu)>();

GuestProcess StartVessel(int? display) => new("dotnet",
[
    vessel, "run", "--kernel", kernel, "--initrd", initrd, "--append", Append, "--memory", "256M", "--net", "none",
    .. display is { } d ? new[] { "--display", $"vnc=127.0.0.1:{d}" } : [],
]);

GuestProcess StartQemu(int? display) => new("qemu-system-riscv64",
[
    "-M", "virt", "-m", "256M", "-global", "virtio-mmio.force-legacy=false", "-kernel", kernel, "-initrd", initrd, "-append", Append,
    "-nic", "none", "-serial", "stdio", "-monitor", "none",
    .. display is { } d
        ? new[] { "-device", "virtio-gpu-device", "-device", "virtio-keyboard-device", "-device", "virtio-tablet-device", "-display", "none", "-vnc", $"127.0.0.1:{d}" }
        : ["-display", "none"],
]);

// Idle CPU without a display, for each VMM.
double[] bare = new double[2];
for (int which = 0; which < 2; which++)
{
    using GuestProcess vm = which == 0 ? StartVessel(null) : StartQemu(null);
    vm.WaitFor(Prompt, boot);
    bare[which] = IdleCpuPercent(vm, window);
}

var figures = new (double IdleCpu, double IdleBytes, double IdleFrames, double ScrollBytes, double ScrollFrames)[2];
for (int which = 0; which < 2; which++)
{
    int display = 40 + which;
    Console.Error.WriteLine($"bench: {(which == 0 ? "vessel" : "qemu")} with a display...");
    using GuestProcess vm = which == 0 ? StartVessel(display) : StartQemu(display);
    vm.WaitFor(Prompt, boot);
    vm.Run("echo ready-$((40+2))", "ready-42", TimeSpan.FromMinutes(1));
    using RfbViewer viewer = RfbViewer.Connect(5900 + display, TimeSpan.FromSeconds(30));
    Thread.Sleep(2000); // the first full update is not part of either figure

    (long bytes, long frames) = (viewer.Bytes, viewer.Updates);
    double idleCpu = IdleCpuPercent(vm, window);
    (double idleBytes, double idleFrames) = ((viewer.Bytes - bytes) / window, (viewer.Updates - frames) / window);

    // Scrolling at full speed for longer than the window, bounded by the guest's own timeout.
    int scrollSeconds = (int)Math.Ceiling(window) + 4;
    vm.Run($"(timeout {scrollSeconds} sh -c 'while :; do seq 1 100000; done' > /dev/tty1; echo scrolled-$((6*7))) & echo started-$((1+1))", "started-2", TimeSpan.FromMinutes(1));
    Thread.Sleep(2000);
    (bytes, frames) = (viewer.Bytes, viewer.Updates);
    Thread.Sleep(TimeSpan.FromSeconds(window));
    (double scrollBytes, double scrollFrames) = ((viewer.Bytes - bytes) / window, (viewer.Updates - frames) / window);
    vm.WaitFor("scrolled-42", TimeSpan.FromMinutes(1));
    figures[which] = (idleCpu, idleBytes, idleFrames, scrollBytes, scrollFrames);
}

rows.Add(("scrolling: VNC KiB/s to one viewer", $"{figures[0].ScrollBytes / 1024:0.0}", $"{figures[1].ScrollBytes / 1024:0.0}"));
rows.Add(("scrolling: frames (updates) per second", $"{figures[0].ScrollFrames:0.0}", $"{figures[1].ScrollFrames:0.0}"));
rows.Add(("idle screen: VNC KiB/s", $"{figures[0].IdleBytes / 1024:0.00}", $"{figures[1].IdleBytes / 1024:0.00}"));
rows.Add(("idle screen: frames per second", $"{figures[0].IdleFrames:0.0}", $"{figures[1].IdleFrames:0.0}"));
rows.Add(("idle VM CPU %, display and one viewer", $"{figures[0].IdleCpu:0.0}", $"{figures[1].IdleCpu:0.0}"));
rows.Add(("idle VM CPU %, no display", $"{bare[0]:0.0}", $"{bare[1]:0.0}"));

Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}; window {window:0} s");
int width = rows.Max(r => r.What.Length);
Console.WriteLine($"| {"measure".PadRight(width)} | vessel | QEMU 7.2 | vessel / QEMU |");
Console.WriteLine($"|{new string('-', width + 2)}|--------|----------|---------------|");
foreach ((string what, string mine, string theirs) in rows)
{
    double a = double.Parse(mine, CultureInfo.InvariantCulture), b = double.Parse(theirs, CultureInfo.InvariantCulture);
    Console.WriteLine($"| {what.PadRight(width)} | {mine} | {theirs} | {(b == 0 ? "-" : (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "x")} |");
}

return 0;

static double IdleCpuPercent(GuestProcess vm, double seconds)
{
    Thread.Sleep(2000); // settle after boot or connect
    double before = vm.CpuSeconds();
    Thread.Sleep(TimeSpan.FromSeconds(seconds));
    return (vm.CpuSeconds() - before) / seconds * 100;
}
