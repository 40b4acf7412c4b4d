using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Vessel.Web.Tests;

/// <summary>
/// The consoles in the browser: a VM's serial console in xterm.js and its screen in noVNC,
/// in the VM's Console tab and in a window of their own, over the daemon's ticketed WebSockets.
/// Commands typed print what the shell computes (<c>$((6*7))</c>), so the echo of a command
/// never passes for its output.
/// </summary>
public sealed class ConsoleTests
{
    /// <summary>Booting takes 5-30 s on a quiet machine and much longer on a busy one.</summary>
    private static readonly LocatorAssertionsToContainTextOptions s_boot = new() { Timeout = 300_000 };
    private static readonly LocatorAssertionsToContainTextOptions s_output = new() { Timeout = 60_000 };

    [SkippableFact]
    public async Task TheSerialConsoleShowsTheShellTakesTypedAndPastedTextAndMovesToAWindowOfItsOwn()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient root = web.Daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest
        {
            Name = "shell",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 256L << 20,
            Nics = [],
        }));
        await root.WaitForSuccessAsync(await root.VmActionAsync("shell", "start"));

        IPage page = await web.LoggedInPageAsync();
        await page.GotoAsync(web.Url + "#/vm/shell/console");
        // A VM without a display has its serial console only.
        await Expect(page.GetByText("no graphic console: the VM has no display")).ToBeVisibleAsync();
        ILocator terminal = page.Locator(".xterm-rows");
        await Expect(terminal).ToContainTextAsync("/ #", s_boot);
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Connected");

        ILocator input = page.GetByRole(AriaRole.Textbox, new() { Name = "Serial console of shell" });
        await input.PressSequentiallyAsync("echo $((6*7))XY");
        await input.PressAsync("Enter");
        await Expect(terminal).ToContainTextAsync("42XY", s_output);

        // Paste types the clipboard's text (its line end runs it).
        await page.EvaluateAsync("() => navigator.clipboard.writeText('echo $((5*5))PASTED\\n')");
        await page.GetByRole(AriaRole.Button, new() { Name = "Paste" }).ClickAsync();
        await Expect(terminal).ToContainTextAsync("25PASTED", s_output);

        // Copy takes the selection: a double click selects the word of the output line.
        // (xterm takes the mouse on its screen, above the rows: the click goes where the row is.)
        LocatorBoundingBoxResult row = (await page.Locator(".xterm-rows > div", new() { HasTextRegex = new Regex("^\\s*42XY\\s*$") }).BoundingBoxAsync())!;
        await page.Mouse.DblClickAsync(row.X + 4, row.Y + (row.Height / 2));
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        Assert.Equal("42XY", await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await WebDaemon.ScreenshotAsync(page, "console-serial");

        // In a window of its own: the console's history comes with it, and it types too. The tab lets go meanwhile.
        IPage window = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Open in a new window" }).ClickAsync());
        await Expect(page.GetByText("This console is open in another window.")).ToBeVisibleAsync();
        Assert.EndsWith("#/console/shell/serial", window.Url);
        ILocator windowTerminal = window.Locator(".xterm-rows");
        await Expect(windowTerminal).ToContainTextAsync("25PASTED", s_output);
        await Expect(ConsoleStatus(window)).ToHaveTextAsync("Connected");
        ILocator windowInput = window.GetByRole(AriaRole.Textbox, new() { Name = "Serial console of shell" });
        await windowInput.PressSequentiallyAsync("echo $((8*9))WIN");
        await windowInput.PressAsync("Enter");
        await Expect(windowTerminal).ToContainTextAsync("72WIN", s_output);
        // The terminal fits its window, and follows it when it is made narrower.
        Assert.True(await window.EvaluateAsync<double>(ScreenWidth) > 900);
        await window.SetViewportSizeAsync(640, 480);
        await window.WaitForFunctionAsync($"() => ({ScreenWidth})() > 300 && ({ScreenWidth})() <= innerWidth - 10", null, new() { PollingInterval = 100 });
        await window.CloseAsync();

        // Back in the tab; then the VM stops: the status line has the server's sentence, and
        // the console comes back by itself when the VM runs again (told by the server's events).
        await page.GetByRole(AriaRole.Button, new() { Name = "Show it here" }).ClickAsync();
        await Expect(terminal).ToContainTextAsync("72WIN", s_output);
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Connected");
        await root.WaitForSuccessAsync(await root.VmActionAsync("shell", "stop"));
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Detached: VM 'shell' is stopped; its console is there while it runs.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Reconnect" })).ToBeVisibleAsync();
        await root.WaitForSuccessAsync(await root.VmActionAsync("shell", "start"));
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Connected", new() { Timeout = 60_000 });
        await Expect(terminal).ToContainTextAsync("/ #", s_boot);
    }

    [SkippableFact]
    public async Task TheGraphicConsoleShowsTheScreenAndTypesIntoTheGuest()
    {
        Skip.If(DefaultGuestFiles.Find() is null, DefaultGuestFiles.Missing);
        (string kernel, string initrd) = DefaultGuestFiles.Find()!.Value;
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient root = web.Daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest
        {
            Name = "screen",
            Kernel = kernel,
            Initrd = initrd,
            Append = DefaultGuestFiles.CommandLine,
            MemoryBytes = 256L << 20,
            Nics = [],
            Display = VmDisplays.Vnc,
        }));
        await root.WaitForSuccessAsync(await root.VmActionAsync("screen", "start"));
        // The test reads the guest through its serial console; the browser has the screen.
        await using ConsoleSession serial = await ConsoleSession.AttachAsync(root, "screen");
        serial.WaitFor(TestFiles.Prompt, TimeSpan.FromMinutes(5));

        IPage page = await web.LoggedInPageAsync();
        await page.GotoAsync(web.Url + "#/vm/screen/console");
        // A VM with a display shows its screen first.
        await Expect(page.GetByRole(AriaRole.Radio, new() { Name = "Graphic" })).ToBeCheckedAsync();
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Connected", new() { Timeout = 60_000 });
        ILocator screen = page.GetByRole(AriaRole.Application, new() { Name = "Screen of screen" });
        // The guest's console text is on the canvas: its pixels are not all one colour.
        await page.WaitForFunctionAsync(CanvasHasTwoColours, null, new() { Timeout = 120_000, PollingInterval = 500 });

        // Keys typed into the screen reach the guest's tty1; tee copies the output to the serial line.
        await screen.Locator("canvas").ClickAsync();
        await TypeOnUsKeyboardAsync(page.Keyboard, "echo TYPED-$((6*7)) | tee /dev/ttyS0");
        await page.Keyboard.PressAsync("Enter");
        serial.WaitFor("TYPED-42", TimeSpan.FromMinutes(1));
        await serial.SendLineAsync("echo VCS=$(grep -o TYPED-42 /dev/vcs1 | wc -l)=VCS");
        Assert.Equal("1", serial.WaitFor(new Regex(@"VCS=(\d+)=VCS")).Groups[1].Value);

        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Ctrl+Alt+Del" })).ToBeEnabledAsync();
        await WebDaemon.ScreenshotAsync(page, "console-graphic");

        // The serial console is the other choice, and the screen opens in a window of its own too.
        IPage window = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Open in a new window" }).ClickAsync());
        Assert.EndsWith("#/console/screen/graphic", window.Url);
        await Expect(ConsoleStatus(window)).ToHaveTextAsync("Connected", new() { Timeout = 60_000 });
        await window.WaitForFunctionAsync(CanvasHasTwoColours, null, new() { Timeout = 120_000, PollingInterval = 500 });
    }

    [SkippableFact]
    public async Task AStoppedVmsConsoleSaysWhyInTheServersWords()
    {
        await using WebDaemon web = await WebDaemon.StartAsync();
        VesselClient root = web.Daemon.Serve.Client;
        await root.WaitForSuccessAsync(await root.CreateVmAsync(new VmCreateRequest
        {
            Name = "idle",
            Kernel = TestFiles.Kernel,
            Initrd = TestFiles.Initrd,
            Append = TestFiles.CommandLine,
            MemoryBytes = 256L << 20,
            Nics = [],
        }));

        IPage page = await web.LoggedInPageAsync();
        await page.GotoAsync(web.Url + "#/console/idle/serial");
        await Expect(page.GetByRole(AriaRole.Main, new() { Name = "Console of idle" })).ToBeVisibleAsync();
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Detached: VM 'idle' is stopped; its console is there while it runs.");
        // Without a display there is no screen to open: the server's sentence again.
        await page.GotoAsync(web.Url + "#/console/idle/graphic");
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Detached: VM 'idle' has no display; give it one (display: vnc) and start it again.");

        // In a narrow window the tab keeps its status, its choices and its actions in view.
        await page.SetViewportSizeAsync(600, 800);
        await page.GotoAsync(web.Url + "#/vm/idle/console");
        await page.GetByRole(AriaRole.Button, new() { Name = "Hide the resource tree" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Use the dark theme" }).ClickAsync();
        await Expect(ConsoleStatus(page)).ToHaveTextAsync("Detached: VM 'idle' is stopped; its console is there while it runs.");
        foreach (string button in new[] { "Reconnect", "Open in a new window", "Show as API call / CLI command" })
        {
            // A trial click fails if the button is off screen or covered.
            await page.GetByRole(AriaRole.Button, new() { Name = button, Exact = true }).ClickAsync(new() { Trial = true });
        }

        // The terminal takes the window's width (not squeezed beside a hidden tree's column).
        Assert.True(await page.EvaluateAsync<double>("() => document.querySelector('.console-screen').getBoundingClientRect().width") > 400);
    }

    /// <summary>
    /// Types as a person does on a US keyboard: Shift held for capitals and shifted symbols, as
    /// noVNC then tells the VM (Playwright's TypeAsync sends "$" without Shift, which no keyboard does).
    /// </summary>
    private static async Task TypeOnUsKeyboardAsync(IKeyboard keyboard, string text)
    {
        const string shifted = "~!@#$%^&*()_+{}|:\"<>?";
        const string unshifted = "`1234567890-=[]\\;',./";
        foreach (char c in text)
        {
            int symbol = shifted.IndexOf(c);
            if (char.IsAsciiLetterUpper(c) || symbol >= 0)
            {
                await keyboard.DownAsync("Shift");
                await keyboard.PressAsync(symbol >= 0 ? unshifted[symbol].ToString() : char.ToLowerInvariant(c).ToString());
                await keyboard.UpAsync("Shift");
            }
            else
            {
                await keyboard.PressAsync(c == ' ' ? "Space" : c.ToString());
            }
        }
    }

    private static ILocator ConsoleStatus(IPage page) => page.GetByRole(AriaRole.Status, new() { Name = "Console status" });

    /// <summary>The width of the terminal's character grid, in CSS pixels.</summary>
    private const string ScreenWidth = "() => document.querySelector('.xterm-screen').getBoundingClientRect().width";

    /// <summary>Whether the screen's canvas shows more than one colour.</summary>
    private const string CanvasHasTwoColours = """
        () => {
          const canvas = document.querySelector('.vnc-screen canvas');
          if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 4; i < pixels.length; i += 4) {
            if (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2]) return true;
          }
          return false;
        }
        """;
}
