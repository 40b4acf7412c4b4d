using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>Logging in and out of the web interface, and what it shows a logged-in user.</summary>
public sealed class LoginTests
{
    [SkippableFact]
    public async Task AWrongPasswordGetsTheServersSentenceAndTheRightOneOpensTheInterface()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        IPage page = await web.NewPageAsync();
        await page.GotoAsync(web.Url);
        await page.GetByLabel("User").FillAsync(WebDaemon.AdminUser);
        await page.GetByLabel("Password").FillAsync("not-the-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The user name or the password is wrong.");
        await WebDaemon.ScreenshotAsync(page, "login");

        await page.GetByLabel("Password").FillAsync(WebDaemon.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page.GetByLabel("Logged in as")).ToHaveTextAsync(WebDaemon.AdminUser);
        await Expect(page.GetByRole(AriaRole.Tree, new() { Name = "Host view" })).ToContainTextAsync("localhost");
        await Expect(page.GetByRole(AriaRole.Status, new() { Name = "Live updates connected" })).ToBeVisibleAsync();

        // A reload keeps the session (the cookie, and the CSRF token from /access/session).
        await page.ReloadAsync();
        await Expect(page.GetByLabel("Logged in as")).ToHaveTextAsync(WebDaemon.AdminUser);

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log in" })).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log in" })).ToBeVisibleAsync();
    }

    [SkippableFact]
    public async Task AnAddressOfTheApplicationGetsItsPageAndAnyOtherPathNotAFileIs404()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        IPage page = await web.NewPageAsync();
        // The application's pages are in the fragment, which the browser keeps to itself.
        IResponse? deep = await page.GotoAsync(web.Url + "#/vm/web1/snapshots");
        Assert.Equal(200, deep!.Status);
        Assert.Matches(new Regex("^default-src 'self'"), (await deep.AllHeadersAsync())["content-security-policy"]);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log in" })).ToBeVisibleAsync();
        foreach (string path in new[] { "vm/web1", "assets/no-such-file.js", "etc/passwd", "assets" })
        {
            IResponse? missing = await page.GotoAsync(web.Url + path);
            Assert.Equal(404, missing!.Status);
        }
    }

    [SkippableFact]
    public async Task TheDarkThemeIsKeptAndTheNarrowWindowHidesNothingItNeeds()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        IPage page = await web.LoggedInPageAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Use the dark theme" }).ClickAsync();
        Assert.Equal("dark", await page.EvaluateAsync<string>("document.documentElement.dataset.theme"));
        await page.ReloadAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Use the light theme" })).ToBeVisibleAsync();
        await WebDaemon.ScreenshotAsync(page, "host-dark");

        await page.SetViewportSizeAsync(600, 800);
        await Expect(page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Banner).GetByRole(AriaRole.Link, new() { Name = "Create VM" })).ToBeVisibleAsync();
    }
}
