using Microsoft.Playwright;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Server.Tests.Listener;

namespace Vessel.Web.Tests.Infrastructure;

/// <summary>
/// A real <c>vessel serve</c> on an HTTPS port of loopback (its web interface at <c>/</c>),
/// admin@vessel with a known password, and Debian's Chromium under Playwright. Pages are
/// 1280×720, as the screenshots are; the certificate is the daemon's self-signed one.
/// </summary>
public sealed class WebDaemon : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string AdminUser = "admin@vessel";
    public const string AdminPassword = "web-tests-Admin-1";

    private readonly IPlaywright _playwright;

    private WebDaemon(ListenerDaemon daemon, IPlaywright playwright, IBrowser browser)
    {
        Daemon = daemon;
        _playwright = playwright;
        Browser = browser;
    }

    public ListenerDaemon Daemon { get; }

    public IBrowser Browser { get; }

    /// <summary>The web interface's address (https://127.0.0.1:PORT/).</summary>
    public string Url => Daemon.Https.ToString();

    /// <summary>Skips the test (never passes it) on a machine without Debian's Chromium.</summary>
    public static void SkipWithoutChromium() =>
        Skip.IfNot(File.Exists(ChromiumPath), $"Chromium is not installed at {ChromiumPath} (scripts/setup installs Debian's package chromium).");

    public static async Task<WebDaemon> StartAsync(params string[] arguments)
    {
        SkipWithoutChromium();
        var temp = new TempDirectory();
        string passwordFile = temp.File("admin-password");
        await File.WriteAllTextAsync(passwordFile, AdminPassword + "\n");
        ListenerDaemon daemon = await ListenerDaemon.StartAsync(redirect: false, ["--admin-password-file", passwordFile, .. arguments]);
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root in a sandbox without user namespaces; no calls to Google's services,
            // which this machine's closed network refuses (and which slow every start).
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        return new WebDaemon(daemon, playwright, browser);
    }

    /// <summary>A new browser context (own cookies) with one page, 1280×720, trusting the daemon's certificate.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 720)
    {
        IBrowserContext context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Permissions = ["clipboard-read", "clipboard-write"],
        });
        context.SetDefaultTimeout(30_000);
        IPage page = await context.NewPageAsync();
        return page;
    }

    /// <summary>Opens the web interface and logs in through its form.</summary>
    public async Task<IPage> LoggedInPageAsync(string user = AdminUser, string password = AdminPassword)
    {
        IPage page = await NewPageAsync();
        await page.GotoAsync(Url);
        await page.GetByLabel("User").FillAsync(user);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Resources" })).ToBeVisibleAsync();
        return page;
    }

    /// <summary>Keeps a screenshot as a test artifact (artifacts/screenshots/NAME.png), shown in the README.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        string directory = Path.Combine(TestFiles.RepositoryRoot, "artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        Daemon.Dispose();
    }
}
