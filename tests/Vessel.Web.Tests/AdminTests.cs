using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>The administration pages (issue 15, item 5): users, roles, permissions, API tokens, the audit log and the licence.</summary>
public sealed class AdminTests
{
    private const string NewUser = "alice@vessel";
    private const string NewUserPassword = "alice-Secret-42";

    [SkippableFact]
    public async Task AUserAddedAndGivenARoleInTheBrowserLogsInWithWhatTheRoleAllows()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        IPage page = await web.LoggedInPageAsync();

        // A role of our own, from two privileges.
        await page.GotoAsync(web.Url + "#/admin/roles");
        await page.GetByRole(AriaRole.Button, new() { Name = "Define role" }).ClickAsync();
        ILocator roleDialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Define role" });
        await roleDialog.GetByLabel("Role name").FillAsync("Watcher");
        await roleDialog.GetByLabel("Sys.Audit").CheckAsync();
        await roleDialog.GetByLabel("VM.Audit", new() { Exact = true }).CheckAsync();
        await roleDialog.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
        await Expect(roleDialog.GetByLabel("CLI command")).ToHaveValueAsync(new Regex("^vessel role add Watcher --privs VM.Audit,Sys.Audit --server "));
        await roleDialog.GetByRole(AriaRole.Button, new() { Name = "Define", Exact = true }).ClickAsync();
        await Expect(roleDialog).ToBeHiddenAsync();
        ILocator roles = page.GetByRole(AriaRole.Table, new() { Name = "Roles" });
        await Expect(roles.GetByRole(AriaRole.Row).Filter(new() { HasText = "Watcher" })).ToContainTextAsync("VM.Audit, Sys.Audit");
        // The built-in roles are there to read, not to delete.
        await Expect(roles.GetByRole(AriaRole.Row).Filter(new() { HasText = "Administrator" })).ToContainTextAsync("built in");
        await Expect(roles.GetByRole(AriaRole.Button, new() { Name = "Delete Administrator" })).ToHaveCountAsync(0);

        // The user, with a password; a name taken twice gets the server's sentence in the dialog.
        await page.GotoAsync(web.Url + "#/admin/users");
        for (int attempt = 0; attempt < 2; attempt++)
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
            ILocator dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Add user" });
            await dialog.GetByLabel("User name").FillAsync(NewUser);
            await dialog.GetByLabel("Password").FillAsync(NewUserPassword);
            await dialog.GetByLabel("Comment").FillAsync("added in the browser");
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
            if (attempt == 0)
            {
                await Expect(dialog).ToBeHiddenAsync();
            }
            else
            {
                await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"There is already a user {NewUser}.");
                await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
            }
        }

        ILocator aliceRow = page.GetByRole(AriaRole.Table, new() { Name = "Users" }).GetByRole(AriaRole.Row).Filter(new() { HasText = NewUser });
        await Expect(aliceRow).ToContainTextAsync("enabled");
        await Expect(aliceRow).ToContainTextAsync("added in the browser");

        // The role on / for the user.
        await page.GotoAsync(web.Url + "#/admin/permissions");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add permission" }).ClickAsync();
        ILocator acl = page.GetByRole(AriaRole.Dialog, new() { Name = "Add permission" });
        await acl.GetByLabel("Path", new() { Exact = true }).FillAsync("/");
        await acl.GetByLabel("User", new() { Exact = true }).FillAsync(NewUser);
        await acl.GetByLabel("Role", new() { Exact = true }).SelectOptionAsync("Watcher");
        await acl.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
        await Expect(acl.GetByLabel("CLI command")).ToHaveValueAsync(new Regex($"^vessel acl set / --user {NewUser} --role Watcher --server "));
        await acl.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Expect(acl).ToBeHiddenAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Permissions" }).GetByRole(AriaRole.Row).Filter(new() { HasText = NewUser })).ToContainTextAsync("Watcher");

        await page.GotoAsync(web.Url + "#/admin/users");
        await Expect(aliceRow).ToBeVisibleAsync();
        await WebDaemon.ScreenshotAsync(page, "admin-users");

        // In a browser context of its own, the new user logs in; Sys.Audit lets it read the
        // users, and without User.Modify it is offered no change.
        IPage alice = await web.LoggedInPageAsync(NewUser, NewUserPassword);
        await Expect(alice.GetByLabel("Logged in as")).ToHaveTextAsync(NewUser);
        await alice.GotoAsync(web.Url + "#/admin/users");
        await Expect(alice.GetByRole(AriaRole.Table, new() { Name = "Users" })).ToContainTextAsync(WebDaemon.AdminUser);
        await Expect(alice.GetByRole(AriaRole.Button, new() { Name = "Change the password of " + NewUser })).ToBeVisibleAsync();
        await Expect(alice.GetByRole(AriaRole.Button, new() { Name = "Add user" })).ToHaveCountAsync(0);
        await Expect(alice.GetByRole(AriaRole.Button, new() { Name = "Delete " + WebDaemon.AdminUser })).ToHaveCountAsync(0);

        // Disabled by the administrator, the user's session ends: its next request is refused.
        await aliceRow.GetByRole(AriaRole.Button, new() { Name = "Disable " + NewUser }).ClickAsync();
        await Expect(aliceRow).ToContainTextAsync("disabled");
        await alice.ReloadAsync();
        await Expect(alice.GetByRole(AriaRole.Button, new() { Name = "Log in" })).ToBeVisibleAsync();
    }

    [SkippableFact]
    public async Task ATokenSecretIsShownOnceAndWorksAndTheAuditLogListsItsCreationWithAVerifiedChain()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        IPage page = await web.LoggedInPageAsync();

        await page.GotoAsync(web.Url + "#/admin/tokens");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create token" }).ClickAsync();
        ILocator create = page.GetByRole(AriaRole.Dialog, new() { Name = "Create API token" });
        await create.GetByLabel("Token name").FillAsync("ci");
        await create.GetByLabel("Comment").FillAsync("the pipeline");
        await create.GetByRole(AriaRole.Button, new() { Name = "Show as API call / CLI command" }).ClickAsync();
        await Expect(create.GetByLabel("CLI command")).ToHaveValueAsync(new Regex("^vessel token create ci --comment 'the pipeline' --server "));
        await create.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();

        ILocator shown = page.GetByRole(AriaRole.Dialog, new() { Name = "API token created" });
        await Expect(shown).ToContainTextAsync("This secret is not shown again");
        await Expect(shown).ToContainTextAsync($"{WebDaemon.AdminUser}!ci");
        string secret = await shown.GetByLabel("Token secret").InputValueAsync();
        Assert.False(string.IsNullOrWhiteSpace(secret));
        await shown.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(shown.GetByRole(AriaRole.Status)).ToHaveTextAsync("Copied to the clipboard.");
        Assert.Equal(secret, await page.EvaluateAsync<string>("navigator.clipboard.readText()"));
        await shown.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await Expect(shown).ToBeHiddenAsync();
        // Once closed, the secret is nowhere: the list shows the token, never its secret.
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "API tokens" }).GetByRole(AriaRole.Row).Filter(new() { HasText = $"{WebDaemon.AdminUser}!ci" })).ToContainTextAsync("the pipeline");
        Assert.DoesNotContain(secret, await page.ContentAsync());

        // The secret works against the API, over HTTPS pinned to the daemon's certificate.
        using HttpClient http = web.Daemon.PinnedHttp(authenticated: false);
        using (var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/vms"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using HttpResponseMessage answer = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/vms"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A'));
            using HttpResponseMessage answer = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }

        // The audit log lists the login and the token's creation, and its chain verifies.
        await page.GotoAsync(web.Url + "#/admin/audit");
        ILocator log = page.GetByRole(AriaRole.Table, new() { Name = "Audit log" });
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "access.login" }).Filter(new() { HasText = WebDaemon.AdminUser }).First).ToBeVisibleAsync();
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "token.create" }).First).ToContainTextAsync(WebDaemon.AdminUser);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "The chain is" })).ToHaveTextAsync(new Regex(@"^The chain is intact: \d+ entries verified\.$"));

        // A filter narrows the list to one action.
        await page.GetByLabel("Action").FillAsync("token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "access.login" })).ToHaveCountAsync(0);
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "token.create" }).First).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
        await Expect(log.GetByRole(AriaRole.Row).Filter(new() { HasText = "access.login" }).First).ToBeVisibleAsync();
        await WebDaemon.ScreenshotAsync(page, "admin-audit");

        // The licence page: the evaluation, its validity and its capacity; an altered licence
        // text gets the server's sentence next to the form.
        await page.GotoAsync(web.Url + "#/admin/license");
        ILocator status = page.GetByRole(AriaRole.Definition).First;
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Evaluation" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Licence status")).ToContainTextAsync("evaluation");
        await Expect(page.GetByLabel("Licence status")).ToContainTextAsync("day(s) left");
        await Expect(status).ToHaveTextAsync("evaluation");
        await page.GetByLabel("Licence text").FillAsync("not a licence");
        await page.GetByRole(AriaRole.Button, new() { Name = "Install licence" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Form, new() { Name = "Install a licence" }).GetByRole(AriaRole.Alert)).Not.ToBeEmptyAsync();
        await WebDaemon.ScreenshotAsync(page, "admin-license");
    }
}
