using System.Text.Json.Nodes;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Input;
using Vessel.Machine.Virtio.Scsi;
using Vessel.Vmm.Vnc;

namespace Vessel.Vmm.Runtime;

/// <summary>What control protocols ask of the VM's screen, keyboard, pointer and CD/DVD drive.</summary>
public sealed partial class VirtualMachine
{
    private VncServer? _vnc;

    /// <summary>The VNC server, when the VM has a display with one.</summary>
    public VncServer? Vnc => _vnc;

    /// <summary>The screen, or null when the VM has no display.</summary>
    public DisplayConsole? Display => _machine.Display;

    /// <summary>Starts the VNC server the configuration asks for, with its password from the file.</summary>
    private void StartDisplay()
    {
        // QEMU's DEVICE_TRAY_MOVED, whether the guest or QMP moved the tray.
        if (_machine.Cdrom is { } drive)
        {
            drive.TrayMoved += open => Raise("DEVICE_TRAY_MOVED", new JsonObject { ["device"] = Configuration.Cdrom!.Id, ["id"] = Configuration.Cdrom.Id, ["tray-open"] = open });
        }

        if (Configuration.Display is not { Vnc: { } address } display || _machine.Display is null)
        {
            return;
        }

        string? password = null;
        if (display.PasswordFile is not null)
        {
            try
            {
                password = File.ReadLines(display.PasswordFile).FirstOrDefault() ?? string.Empty;
            }
            catch (IOException e)
            {
                throw new VmmException($"--display password-file {display.PasswordFile} cannot be read: {e.Message}");
            }
        }

        _vnc = VncServer.Listen(address, _machine.Display, new VirtioVncInput(_machine.Keyboard, _machine.Tablet), Name ?? "Vessel", display.Keymap);
        _vnc.PasswordRequired = display.PasswordRequired;
        _vnc.Password = password;
    }

    /// <summary>Writes the screen to <paramref name="path"/> as PPM or PNG (QMP <c>screendump</c>).</summary>
    /// <exception cref="VmmException">The VM has no display, or the file cannot be written.</exception>
    public void Screendump(string path, bool png)
    {
        DisplayConsole display = _machine.Display ?? throw new VmmException("There is no console to take a screendump from");
        (int width, int height, uint[] pixels) = display.Capture();
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
            if (png)
            {
                ScreenImage.WritePng(file, width, height, pixels);
            }
            else
            {
                ScreenImage.WritePpm(file, width, height, pixels);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"Could not open '{path}': {e.Message}");
        }
    }

    /// <summary>Presses the keys in order, holds them <paramref name="holdMilliseconds"/>, releases them in reverse (QMP <c>send-key</c>).</summary>
    public void SendKeys(IReadOnlyList<ushort> codes, int holdMilliseconds)
    {
        VirtioKeyboardDevice keyboard = _machine.Keyboard ?? throw new VmmException("No keyboard device has been activated");
        foreach (ushort code in codes)
        {
            keyboard.SendKey(code, down: true);
        }

        // Released on a timer, as QEMU does, so the command returns at once.
        _ = Task.Delay(holdMilliseconds).ContinueWith(_ =>
        {
            for (int i = codes.Count - 1; i >= 0; i--)
            {
                keyboard.SendKey(codes[i], down: false);
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Sends evdev events to the keyboard (keys) or the tablet (buttons, axes, wheel), then a SYN (QMP <c>input-send-event</c>).</summary>
    public void SendInputEvents(IReadOnlyList<InputEvent> keyboardEvents, IReadOnlyList<InputEvent> tabletEvents)
    {
        if (keyboardEvents.Count > 0)
        {
            VirtioKeyboardDevice keyboard = _machine.Keyboard ?? throw new VmmException("No keyboard device has been activated");
            keyboard.Send([.. keyboardEvents, InputEvent.Sync]);
        }

        if (tabletEvents.Count > 0)
        {
            VirtioTabletDevice tablet = _machine.Tablet ?? throw new VmmException("No pointer device has been activated");
            tablet.Send([.. tabletEvents, InputEvent.Sync]);
        }
    }

    /// <summary>The file of the disc in the CD/DVD drive (null when empty), as <c>--cdrom</c> and QMP's <c>eject</c> and <c>blockdev-change-medium</c> left it.</summary>
    public string? CdromFile
    {
        get => _cdromFile ?? (_cdromChanged ? null : Configuration.Cdrom?.Path);
        internal set
        {
            _cdromFile = value;
            _cdromChanged = true;
        }
    }

    private string? _cdromFile;
    private bool _cdromChanged;

    /// <summary>The CD/DVD drive named <paramref name="id"/>.</summary>
    /// <exception cref="VmmException">There is no such drive.</exception>
    public ScsiCdrom RequireCdrom(string id)
    {
        if (_machine.Cdrom is { } drive && Configuration.Cdrom is { } cdrom && (id == cdrom.Id || id == "cdrom"))
        {
            return drive;
        }

        throw new VmmException($"Device '{id}' not found");
    }
}
