using Microsoft.Playwright;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>The frame around every page: the resource tree, the global search, bulk actions, live updates.</summary>
public sealed class LayoutTests
{
    private static async Task CreateVmAsync(WebDaemon web, string name, params string[] tags)
    {
        OperationInfo created = await web.Daemon.Serve.Client.CreateVmAsync(new VmCreateRequest
        {
            Name = name,
            Tags = tags,
            Kernel = TestFiles.Kernel,
            MemoryBytes = 256L << 20,
            Nics = [],
        });
        OperationInfo done = await web.Daemon.Serve.Client.WaitAsync(created);
        Assert.Equal(OperationStatuses.Succeeded, done.Status);
    }

    [SkippableFact]
    public async Task TheSearchFindsByNameTagAndStateAndRefusesAnUnknownKeyWithASentence()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        await CreateVmAsync(web, "web1", "prod");
        await CreateVmAsync(web, "web2", "test");
        await CreateVmAsync(web, "db1", "prod");
        IPage page = await web.LoggedInPageAsync();

        await page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" }).FillAsync("name:web tag:prod state:stopped");
        await page.Keyboard.PressAsync("Enter");
        ILocator found = page.GetByRole(AriaRole.Table, new() { Name = "Found objects" });
        await Expect(found.GetByRole(AriaRole.Link)).ToHaveTextAsync(["web1"]);

        await page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" }).FillAsync("tag:prod");
        await page.Keyboard.PressAsync("Enter");
        await Expect(found.GetByRole(AriaRole.Link)).ToHaveTextAsync(["db1", "web1"]);
        await WebDaemon.ScreenshotAsync(page, "search");

        await page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" }).FillAsync("colour:red");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The search knows name:, tag:, state:, kind: and words, not \"colour:\".");
    }

    [SkippableFact]
    public async Task TheTreeIsWalkedWithTheKeyboardAndFollowsCreationsAndBulkDeletionsAsTheyHappen()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        await CreateVmAsync(web, "alpha", "red");
        IPage page = await web.LoggedInPageAsync();
        ILocator tree = page.GetByRole(AriaRole.Tree, new() { Name = "Host view" });
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "alpha" })).ToBeVisibleAsync();

        // Created elsewhere (the API), shown here from the event stream, without a reload.
        await CreateVmAsync(web, "beta");
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "beta" })).ToBeVisibleAsync();

        // The keyboard: one Tab stop, arrows move, ← closes the VMs group, → opens it, Enter opens a VM's page.
        await tree.GetByRole(AriaRole.Link, new() { Name = "localhost" }).FocusAsync();
        await page.Keyboard.PressAsync("ArrowDown");
        ILocator vmsGroup = tree.GetByRole(AriaRole.Button, new() { Name = "Collapse VMs (2)" });
        await Expect(vmsGroup).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(tree.GetByRole(AriaRole.Button, new() { Name = "Expand VMs (2)" })).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "alpha" })).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowDown");
        await Expect(tree.GetByRole(AriaRole.Link, new() { Name = "alpha" })).ToBeFocusedAsync();
        Assert.Equal(1, await tree.Locator("[tabindex='0']").CountAsync());
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "VM alpha" })).ToBeVisibleAsync();

        // Bulk delete of both from the host's table: the tree empties as the deletions finish.
        await page.GotoAsync(web.Url + "#/");
        // The hosts this manager drives, its own among them, with maintenance at hand.
        ILocator hosts = page.GetByRole(AriaRole.Table, new() { Name = "Hosts" });
        ILocator manager = hosts.GetByRole(AriaRole.Row).Filter(new() { HasText = "(manager)" });
        await Expect(manager).ToContainTextAsync("up");
        await Expect(manager.GetByRole(AriaRole.Button, new() { Name = "Enter maintenance" })).ToBeEnabledAsync();
        ILocator table = page.GetByRole(AriaRole.Table, new() { Name = "Virtual machines" });
        await table.GetByRole(AriaRole.Checkbox, new() { Name = "Select all" }).CheckAsync();
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Toolbar, new() { Name = "Bulk actions on the selected VMs" }).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(tree.GetByRole(AriaRole.Button, new() { Name = "Collapse VMs (0)" })).ToBeVisibleAsync(new() { Timeout = 60_000 });
        Assert.Equal(0, (await web.Daemon.Serve.Client.ListVmsAsync()).Total);
    }
}
