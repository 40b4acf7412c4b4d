using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>
/// The VM's pages with a real guest: graphs, hardware edits, a snapshot taken and reverted in
/// the browser while the guest's disk changes, a linked clone; and what a VM user sees.
/// </summary>
public sealed class VmPagesTests
{
    /// <summary>A VM's operation (boot, revert, clone) on this busy machine: generous, never a timing assertion.</summary>
    private static readonly LocatorAssertionsToBeVisibleOptions s_slowVisible = new() { Timeout = 180_000 };
    private static readonly LocatorAssertionsToBeHiddenOptions s_slowHidden = new() { Timeout = 180_000 };

    [SkippableFact]
    public async Task ASnapshotTakenAndRevertedInTheBrowserBringsBackTheGuestsFileAndALinkedCloneAppearsInTheTree()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient client = web.Daemon.Serve.Client;
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
        {
            Name = "web1",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 256L << 20,
            Cpus = 1,
            Description = "the reference guest",
            Disks = [new DiskRequest { Import = TestFiles.RootFs }],
        }));
        await client.WaitForSuccessAsync(await client.VmActionAsync("web1", "start"));
        await using ConsoleSession console = await ConsoleSession.AttachAsync(client, "web1");
        console.WaitFor(TestFiles.Prompt);
        await console.RunAsync("mkdir -p /mnt; mount /dev/vda /mnt && echo mounted-$((1+1))", "mounted-2");
        await console.RunAsync("echo before > /mnt/file; sync; echo wrote-$((2+1))", "wrote-3");

        IPage page = await web.LoggedInPageAsync();
        await page.GotoAsync(web.Url + "#/vm/web1/summary");

        // Summary: the graphs fill from the daemon's samples (one every few seconds).
        ILocator cpu = page.GetByRole(AriaRole.Img, new() { Name = "CPU" });
        await Expect(cpu).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Listitem).Filter(new() { HasTextRegex = new Regex(@"^CPU: \d+ %$") })).ToBeVisibleAsync(s_slowVisible);
        Assert.Matches(new Regex(@"^CPU from .* CPU now \d+ %, peak \d+ %\.$"), await cpu.GetAttributeAsync("aria-describedby") is { } described
            ? await page.Locator($"[id='{described}']").TextContentAsync()
            : null);
        await WebDaemon.ScreenshotAsync(page, "vm-summary");

        // Hardware: memory changes at the next start (pending while the VM runs); the balloon
        // target of a VM without a balloon device is refused, the sentence next to it.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Hardware" }).ClickAsync();
        await page.GetByLabel("Memory (MiB)").FillAsync("320");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply Memory" }).ClickAsync();
        ILocator memoryRow = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByLabel("Memory (MiB)") });
        await Expect(memoryRow).ToContainTextAsync("pending: at the next start");
        VmDetails edited = await client.GetVmAsync("web1");
        Assert.Equal(320L << 20, edited.MemoryBytes);
        Assert.Contains("memory", edited.PendingChanges);
        await page.GetByLabel("Balloon target (MiB)").FillAsync("100");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply Balloon target" }).ClickAsync();
        ILocator balloonRow = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByLabel("Balloon target (MiB)") });
        await Expect(balloonRow.GetByRole(AriaRole.Alert)).ToHaveTextAsync("VM 'web1' has no balloon device; add one (balloon: true) and restart it first.");
        await WebDaemon.ScreenshotAsync(page, "vm-hardware");

        // Snapshots: take one with the memory, change the file in the guest, revert: the old content.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Snapshots" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Take snapshot" }).ClickAsync();
        ILocator take = page.GetByRole(AriaRole.Dialog, new() { Name = "Take a snapshot" });
        await take.GetByLabel("Name").FillAsync("s1");
        await take.GetByLabel("Description").FillAsync("file says before");
        await Expect(take.GetByLabel("Include the memory")).ToBeCheckedAsync();
        await take.GetByRole(AriaRole.Button, new() { Name = "Take snapshot" }).ClickAsync();
        await Expect(take).ToBeHiddenAsync(s_slowHidden);
        ILocator tree = page.GetByRole(AriaRole.Tree, new() { Name = "Snapshot tree" });
        ILocator s1 = tree.GetByRole(AriaRole.Treeitem, new() { Name = "s1", Exact = true });
        await Expect(s1).ToHaveAttributeAsync("aria-current", "true");
        await Expect(s1.GetByRole(AriaRole.Treeitem, new() { Name = "Now" })).ToBeVisibleAsync();

        await console.RunAsync("echo after > /mnt/file; sync; echo changed-$(cat /mnt/file)-end", "changed-after-end");
        await page.GetByRole(AriaRole.Button, new() { Name = "Revert to s1" }).ClickAsync();
        ILocator revert = page.GetByRole(AriaRole.Dialog, new() { Name = "Revert to snapshot s1" });
        await Expect(revert).ToContainTextAsync("what changed on its disks and in its memory since then is lost");
        await revert.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
        Assert.EndsWith("/api/v1/vms/web1/snapshots/s1/revert -H \"Authorization: Bearer $VESSEL_TOKEN\"", await revert.GetByLabel("API call").InputValueAsync());
        Assert.StartsWith("vessel snapshot revert web1 s1 --server ", await revert.GetByLabel("CLI command").InputValueAsync());
        await revert.GetByRole(AriaRole.Button, new() { Name = "Revert", Exact = true }).ClickAsync();
        await Expect(revert).ToBeHiddenAsync(s_slowHidden);
        await console.RunAsync("echo content-$(cat /mnt/file)-end", "content-before-end");

        // A snapshot after the revert is a child of s1, and "Now" moves under it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Take snapshot" }).ClickAsync();
        await take.GetByLabel("Name").FillAsync("s2");
        await take.GetByLabel("Description").FillAsync("after the revert");
        await take.GetByRole(AriaRole.Button, new() { Name = "Take snapshot" }).ClickAsync();
        await Expect(take).ToBeHiddenAsync(s_slowHidden);
        ILocator s2 = s1.GetByRole(AriaRole.Treeitem, new() { Name = "s2", Exact = true });
        await Expect(s2).ToHaveAttributeAsync("aria-current", "true");
        await Expect(s2.GetByRole(AriaRole.Treeitem, new() { Name = "Now" })).ToBeVisibleAsync();
        await Expect(s1).Not.ToHaveAttributeAsync("aria-current", "true");
        await WebDaemon.ScreenshotAsync(page, "vm-snapshots");

        // A linked clone at s1, made in the browser, shows in the resource tree and the clones list.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Clones" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Clone", Exact = true }).ClickAsync();
        ILocator clone = page.GetByRole(AriaRole.Dialog, new() { Name = "Clone web1" });
        await clone.GetByLabel("Linked clone").CheckAsync();
        await clone.GetByLabel("Name of the clone").FillAsync("web1-linked");
        await clone.GetByRole(AriaRole.Button, new() { Name = "Create clone" }).ClickAsync();
        await Expect(clone).ToBeHiddenAsync(s_slowHidden);
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Resources" }).GetByRole(AriaRole.Link, new() { Name = "web1-linked" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Clones of web1" }).GetByRole(AriaRole.Link, new() { Name = "web1-linked" })).ToBeVisibleAsync();
        Assert.Equal("web1", (await client.GetVmAsync("web1-linked")).ClonedFrom);
    }

    [SkippableFact]
    public async Task AVmUserSeesOnlyTheirVmAndNoDeleteButtonWhileTheAdministratorDoes()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient client = web.Daemon.Serve.Client;
        foreach (string name in new[] { "mine", "theirs" })
        {
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = name, Kernel = TestFiles.Kernel, Initrd = TestFiles.Initrd, MemoryBytes = 256L << 20, Cpus = 1 }));
        }

        const string password = "alice-Password-1";
        await client.CreateUserAsync(new UserCreateRequest("alice@vessel", Password: password));
        await client.SetAclAsync(new AclSetRequest("/vms/mine", "VMUser", User: "alice@vessel"));

        IPage alice = await web.LoggedInPageAsync("alice@vessel", password);
        ILocator tree = alice.GetByRole(AriaRole.Tree, new() { Name = "Host view" });
        ILocator table = alice.GetByRole(AriaRole.Table, new() { Name = "Virtual machines" });
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "mine" })).ToBeVisibleAsync();
        await Expect(table.GetByRole(AriaRole.Link, new() { Name = "mine" })).ToBeVisibleAsync();
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "theirs" })).ToHaveCountAsync(0);
        await Expect(table.GetByRole(AriaRole.Link, new() { Name = "theirs" })).ToHaveCountAsync(0);

        await alice.GotoAsync(web.Url + "#/vm/mine/summary");
        ILocator aliceActions = alice.GetByRole(AriaRole.Toolbar, new() { Name = "VM actions" });
        await Expect(aliceActions.GetByRole(AriaRole.Button, new() { Name = "Start" })).ToBeVisibleAsync();
        await Expect(aliceActions.GetByRole(AriaRole.Button, new() { Name = "Delete" })).ToHaveCountAsync(0);
        await Expect(aliceActions.GetByRole(AriaRole.Button, new() { Name = "Migrate…" })).ToHaveCountAsync(0);
        // VMUser changes no hardware but the disc: the memory's input is read-only for alice.
        await alice.GetByRole(AriaRole.Tab, new() { Name = "Hardware" }).ClickAsync();
        await Expect(alice.GetByLabel("Memory (MiB)")).ToBeDisabledAsync();
        await Expect(alice.GetByLabel("ISO in the optical drive")).ToBeEnabledAsync();

        // In a narrow window the settings stay within it (no sideways scrolling to reach them).
        await alice.SetViewportSizeAsync(600, 800);
        foreach (string setting in new[] { "ISO in the optical drive", "Memory (MiB)" })
        {
            LocatorBoundingBoxResult? box = await alice.GetByLabel(setting).BoundingBoxAsync();
            Assert.NotNull(box);
            Assert.True(box.X >= 0 && box.X + box.Width <= 600, $"{setting} is at x {box.X}..{box.X + box.Width} in a 600 px window.");
        }

        IPage admin = await web.LoggedInPageAsync();
        await admin.GotoAsync(web.Url + "#/vm/mine/summary");
        ILocator adminActions = admin.GetByRole(AriaRole.Toolbar, new() { Name = "VM actions" });
        await Expect(adminActions.GetByRole(AriaRole.Button, new() { Name = "Delete" })).ToBeVisibleAsync();
        await Expect(adminActions.GetByRole(AriaRole.Button, new() { Name = "Start" })).ToBeVisibleAsync();
        // Migrate offers the hosts that could take the VM (none but its own here) or the best fit.
        await adminActions.GetByRole(AriaRole.Button, new() { Name = "Migrate…" }).ClickAsync();
        ILocator migrate = admin.GetByRole(AriaRole.Dialog, new() { Name = "Migrate mine" });
        await Expect(migrate.GetByLabel("Destination host").Locator("option")).ToHaveTextAsync(["Best fit (most free memory)"]);
        await migrate.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(migrate).ToHaveCountAsync(0);

        // The administrator sees alice's permission on the Permissions tab and takes it away.
        await admin.GetByRole(AriaRole.Tab, new() { Name = "Permissions" }).ClickAsync();
        ILocator permissions = admin.GetByRole(AriaRole.Table, new() { Name = "Permissions on mine" });
        await Expect(permissions).ToContainTextAsync("alice@vessel");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Remove VMUser of alice@vessel" }).ClickAsync();
        await admin.GetByRole(AriaRole.Dialog, new() { Name = "Remove a permission" }).GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Expect(permissions).Not.ToContainTextAsync("alice@vessel");
        Assert.DoesNotContain(await client.ListAclAsync(), e => e.User == "alice@vessel");
    }
}
