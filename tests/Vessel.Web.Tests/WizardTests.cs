using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>
/// The create-VM wizard and the storage page in the browser: a disk image uploaded from the
/// browser, a VM made from the reference kernel and that disk and started; and the wizard's
/// sentences, the server's own, as the user types and when the server refuses the creation.
/// </summary>
public sealed class WizardTests
{
    private static readonly LocatorAssertionsToHaveAttributeOptions s_bootWait = new() { Timeout = 180_000 };

    [SkippableFact]
    public async Task AnUploadedDiskAndTheReferenceKernelMakeAVmThatRunsAfterCreation()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        try
        {
            IPage page = await web.LoggedInPageAsync();
            ILocator tree = page.GetByRole(AriaRole.Tree, new() { Name = "Host view" });

            // The storage page: upload rootfs.ext4 from "this computer" into the default pool.
            await tree.GetByRole(AriaRole.Link, new() { Name = "default", Exact = true }).First.ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Storage pool default" })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
            ILocator upload = page.GetByRole(AriaRole.Dialog, new() { Name = "Upload a disk image or ISO" });
            await upload.GetByLabel("File to upload").SetInputFilesAsync(TestFiles.RootFs);
            await Expect(upload.GetByLabel("Format")).ToHaveValueAsync("raw");
            await upload.GetByLabel("Volume name").FillAsync("rootfs");
            await upload.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
            await Expect(upload.GetByLabel("CLI command")).ToHaveValueAsync(new Regex("^vessel volume upload rootfs .*rootfs.*\\.ext4 --format raw --pool default --server "));
            await upload.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
            await Expect(upload).ToBeHiddenAsync(new() { Timeout = 120_000 });

            ILocator volumes = page.GetByRole(AriaRole.Table, new() { Name = "Volumes" });
            ILocator row = volumes.GetByRole(AriaRole.Row).Filter(new() { HasText = "rootfs" });
            await Expect(row).ToContainTextAsync("raw");
            await Expect(row).ToContainTextAsync("64.0 MiB");
            await WebDaemon.ScreenshotAsync(page, "storage");
            VolumeInfo uploaded = Assert.Single((await web.Daemon.Serve.Client.ListVolumesAsync("default")).Items, v => v.Name == "rootfs");
            Assert.Equal(new FileInfo(TestFiles.RootFs).Length, uploaded.VirtualBytes);

            // The wizard: the reference kernel and initrd, the uploaded disk, start after creation.
            await page.GetByRole(AriaRole.Banner).GetByRole(AriaRole.Link, new() { Name = "Create VM" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "General", Exact = true })).ToBeFocusedAsync();
            await page.GetByLabel("Name", new() { Exact = true }).FillAsync("wiz1");
            await page.GetByLabel("Tags").FillAsync("web e2e");
            // Enter advances, as Next does.
            await page.GetByLabel("Tags").PressAsync("Enter");

            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Source", Exact = true })).ToBeFocusedAsync();
            await page.GetByLabel("Kernel", new() { Exact = true }).FillAsync(TestFiles.Kernel);
            await page.GetByLabel("Initrd", new() { Exact = true }).FillAsync(TestFiles.Initrd);
            await page.GetByLabel("Kernel command line", new() { Exact = true }).FillAsync(TestFiles.CommandLine);
            await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();

            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "System", Exact = true })).ToBeVisibleAsync();
            await page.GetByLabel("Harts").FillAsync("1");
            await page.GetByLabel("Memory (MiB)").FillAsync("256");
            await WebDaemon.ScreenshotAsync(page, "wizard-system");
            await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();

            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Disks", Exact = true })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Add disk" }).ClickAsync();
            await page.GetByLabel("Kind of disk 0").SelectOptionAsync("volume");
            await page.GetByLabel("Volume of disk 0").SelectOptionAsync("default/rootfs");
            await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();

            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Network", Exact = true })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();

            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Confirm", Exact = true })).ToBeVisibleAsync();
            ILocator summary = page.GetByRole(AriaRole.Definition).Filter(new() { HasText = "default/rootfs" });
            await Expect(summary).ToBeVisibleAsync();
            await page.GetByLabel("Start after creation").CheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
            string cli = await page.GetByLabel("CLI command").InputValueAsync();
            Assert.StartsWith($"vessel vm create wiz1 --kernel {TestFiles.Kernel} --initrd {TestFiles.Initrd} --append '{TestFiles.CommandLine}' --cpus 1 --memory 256M --drive volume=default/rootfs --tag web --tag e2e --start --server https://127.0.0.1:", cli);
            string curl = await page.GetByLabel("API call").InputValueAsync();
            Assert.Contains("-X POST https://127.0.0.1:", curl);
            Assert.Contains("\"disks\":[{\"volume\":\"default/rootfs\",\"readOnly\":false}]", curl);
            await WebDaemon.ScreenshotAsync(page, "wizard-confirm");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create VM" }).ClickAsync();

            // Created, started, and shown on its page and in the tree as running.
            await page.WaitForURLAsync(new Regex("#/vm/wiz1/summary$"), new() { Timeout = 180_000 });
            await Expect(page.GetByRole(AriaRole.Region, new() { Name = "VM wiz1" }).Locator("header [data-state]")).ToHaveAttributeAsync("data-state", "running", s_bootWait);
            ILocator item = tree.Locator("li[role=treeitem]").Filter(new() { Has = page.GetByRole(AriaRole.Link, new() { Name = "wiz1", Exact = true }) }).Last;
            await Expect(item.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "running", s_bootWait);

            VmDetails vm = await web.Daemon.Serve.Client.GetVmAsync("wiz1");
            Assert.Equal(VmStates.Running, vm.State);
            Assert.Equal(TestFiles.Kernel, vm.Kernel);
            Assert.Equal(TestFiles.Initrd, vm.Initrd);
            Assert.Equal(["web", "e2e"], vm.Tags);
            Assert.Equal(256L << 20, vm.MemoryBytes);
            Assert.Equal("default/rootfs", Assert.Single(vm.Disks).Volume);
            Assert.Equal("default", Assert.Single(vm.Nics).Network);

            await web.Daemon.Serve.Client.WaitForSuccessAsync(await web.Daemon.Serve.Client.VmActionAsync("wiz1", "stop"));
        }
        finally
        {
            VmmProcesses.KillAll(web.Daemon.DataDirectory);
        }
    }

    [SkippableFact]
    public async Task TheWizardSaysTheServersSentencesAsTheUserTypesAndShowsItsRefusalOfATakenName()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient client = web.Daemon.Serve.Client;
        await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest { Name = "taken", Kernel = TestFiles.Kernel, Nics = [] }));
        // What the server itself answers to the same mistakes: the wizard must say these words.
        string badName = (await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVmAsync(new VmCreateRequest { Name = "-bad", Kernel = TestFiles.Kernel }))).Message;
        string badMemory = (await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVmAsync(new VmCreateRequest { Name = "fine", Kernel = TestFiles.Kernel, MemoryBytes = 15L << 20 }))).Message;
        string takenName = (await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVmAsync(new VmCreateRequest { Name = "taken", Kernel = TestFiles.Kernel }))).Message;

        IPage page = await web.LoggedInPageAsync();
        await page.GotoAsync(web.Url + "#/create-vm");
        ILocator name = page.GetByLabel("Name", new() { Exact = true });
        await name.PressSequentiallyAsync("-bad");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(badName);
        await Expect(name).ToHaveAttributeAsync("aria-invalid", "true");
        // Next stays on the step while its name is wrong.
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "General", Exact = true })).ToBeVisibleAsync();

        await name.FillAsync("taken");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await page.GetByLabel("Kernel", new() { Exact = true }).FillAsync(TestFiles.Kernel);
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();

        ILocator memory = page.GetByLabel("Memory (MiB)");
        await memory.FillAsync("");
        await memory.PressSequentiallyAsync("15");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(badMemory);
        await memory.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "System", Exact = true })).ToBeVisibleAsync();
        await memory.FillAsync("128");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);
        foreach (string step in new[] { "Disks", "Network", "Confirm" })
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = step, Exact = true })).ToBeVisibleAsync();
        }

        // The server refuses the taken name: its sentence, back on the step of the name.
        await page.GetByRole(AriaRole.Button, new() { Name = "Create VM" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "General", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(takenName);
        Assert.Equal("There is already a VM named 'taken'.", takenName);
        Assert.Single((await client.ListVmsAsync()).Items);

        // A narrow window keeps the step, its sentence and its buttons on the screen (the tree,
        // which covers the content there, closed).
        await page.SetViewportSizeAsync(600, 800);
        ILocator hideTree = page.GetByRole(AriaRole.Button, new() { Name = "Hide the resource tree" });
        if (await hideTree.IsVisibleAsync())
        {
            await hideTree.ClickAsync();
        }

        await Expect(page.GetByLabel("Name", new() { Exact = true })).ToHaveValueAsync("taken");
        await Expect(page.GetByRole(AriaRole.Alert)).ToBeInViewportAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Next" })).ToBeInViewportAsync();
        await WebDaemon.ScreenshotAsync(page, "wizard-narrow");
    }

    [SkippableFact]
    public async Task TheStoragePageMakesResizesCopiesAndDeletesVolumesAndTheNetworkPageMakesAndDeletesNetworks()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient client = web.Daemon.Serve.Client;
        // What the server answers to a volume of no size and to an upload that is no qcow2 image.
        string noSize = (await Assert.ThrowsAsync<VesselApiException>(() => client.CreateVolumeAsync("default", new VolumeCreateRequest { Name = "x", SizeBytes = 0 }))).Message;
        byte[] notAnImage = new byte[1 << 20];
        string notQcow2 = (await Assert.ThrowsAsync<VesselApiException>(() => client.UploadVolumeAsync("default", "broken", "qcow2", new MemoryStream(notAnImage), notAnImage.Length))).Message;

        IPage page = await web.LoggedInPageAsync();
        // Deleting asks first (window.confirm): the user says yes.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await page.GotoAsync(web.Url + "#/storage/default");
        ILocator volumes = page.GetByRole(AriaRole.Table, new() { Name = "Volumes" });
        ILocator Row(string name) => volumes.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByRole(AriaRole.Cell, new() { Name = name, Exact = true }) });

        await page.GetByRole(AriaRole.Button, new() { Name = "New volume" }).ClickAsync();
        ILocator create = page.GetByRole(AriaRole.Dialog, new() { Name = "New volume" });
        await create.GetByLabel("Name").FillAsync("data");
        await create.GetByLabel("Size (GiB)").FillAsync("0");
        await Expect(create.GetByRole(AriaRole.Alert)).ToHaveTextAsync(noSize);
        await create.GetByLabel("Size (GiB)").FillAsync("1");
        await create.GetByRole(AriaRole.Button, new() { Name = "Create volume" }).ClickAsync();
        await Expect(Row("data")).ToContainTextAsync("qcow2");
        await Expect(Row("data")).ToContainTextAsync("1.0 GiB");

        await page.GetByRole(AriaRole.Button, new() { Name = "Resize data" }).ClickAsync();
        ILocator resize = page.GetByRole(AriaRole.Dialog, new() { Name = "Resize data" });
        await resize.GetByLabel("New size (GiB)").FillAsync("2");
        await resize.GetByRole(AriaRole.Button, new() { Name = "Resize" }).ClickAsync();
        await Expect(Row("data")).ToContainTextAsync("2.0 GiB");

        // A copy is an operation: the dialog follows it to its end.
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy data" }).ClickAsync();
        ILocator copy = page.GetByRole(AriaRole.Dialog, new() { Name = "Copy data" });
        await copy.GetByLabel("Format of the copy").SelectOptionAsync("raw");
        await copy.GetByRole(AriaRole.Button, new() { Name = "Copy", Exact = true }).ClickAsync();
        await Expect(copy).ToBeHiddenAsync(new() { Timeout = 60_000 });
        await Expect(Row("data-copy")).ToContainTextAsync("raw");
        Assert.Equal(2L << 30, (await client.GetVolumeAsync("default", "data-copy")).VirtualBytes);

        // An upload the server refuses: its sentence in the dialog, and nothing kept.
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
        ILocator upload = page.GetByRole(AriaRole.Dialog, new() { Name = "Upload a disk image or ISO" });
        await upload.GetByLabel("File to upload").SetInputFilesAsync(new FilePayload { Name = "broken.qcow2", MimeType = "application/octet-stream", Buffer = notAnImage });
        await Expect(upload.GetByLabel("Format")).ToHaveValueAsync("qcow2");
        await Expect(upload.GetByLabel("Volume name")).ToHaveValueAsync("broken");
        await upload.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
        await Expect(upload.GetByRole(AriaRole.Alert)).ToHaveTextAsync(notQcow2);
        await upload.GetByRole(AriaRole.Button, new() { Name = "Close" }).Last.ClickAsync();
        Assert.DoesNotContain((await client.ListVolumesAsync("default")).Items, v => v.Name == "broken");

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete data-copy" }).ClickAsync();
        await Expect(Row("data-copy")).ToHaveCountAsync(0);
        Assert.Equal(["data"], (await client.ListVolumesAsync("default")).Items.Select(v => v.Name));

        // Networks: made from the host page, shown on their page, deleted there.
        await page.GotoAsync(web.Url + "#/host/local");
        await page.GetByRole(AriaRole.Button, new() { Name = "New network" }).ClickAsync();
        ILocator network = page.GetByRole(AriaRole.Dialog, new() { Name = "New network" });
        await network.GetByLabel("Network name").FillAsync("la n");
        await Expect(network.GetByRole(AriaRole.Alert)).ToHaveTextAsync("A network name may hold only letters, digits, '.', '-' and '_', and 'la n' has ' '.");
        await network.GetByLabel("Network name").FillAsync("lan");
        await network.GetByRole(AriaRole.Button, new() { Name = "Create network" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Network lan" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Network facts")).ToContainTextAsync("isolated");
        await Expect(page.GetByRole(AriaRole.Tree, new() { Name = "Host view" }).GetByRole(AriaRole.Link, new() { Name = "lan", Exact = true })).ToBeVisibleAsync();
        Assert.Equal("isolated", Assert.Single(await client.ListNetworksAsync(), n => n.Name == "lan").Kind);

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete network" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Tree, new() { Name = "Host view" }).GetByRole(AriaRole.Link, new() { Name = "lan", Exact = true })).ToHaveCountAsync(0);
        Assert.DoesNotContain(await client.ListNetworksAsync(), n => n.Name == "lan");
    }
}
