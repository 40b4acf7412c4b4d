using System.CommandLine;
using System.Net.WebSockets;
using Vessel.Client;
using Vessel.Vmm.Native;

namespace Vessel.Cli.Commands.Platform;

/// <summary>
/// <c>vessel vm console NAME</c>: the VM's serial console on this terminal (raw mode) or on plain
/// pipes. Ctrl-] or the end of input detaches; the VM runs on.
/// </summary>
internal static class ConsoleCommand
{
    private const byte DetachKey = 0x1d; // Ctrl-]

    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "The VM's name (or UUID)" };
        var command = new Command("console", "Attach to the VM's serial console (Ctrl-] or end of input detaches; the VM runs on)") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            using WebSocket socket = await client.ConnectConsoleAsync(parseResult.GetValue(name)!, cancellationToken);
            bool terminal = Terminal.IsTerminal(0);
            byte[]? saved = terminal ? Terminal.EnterRawMode(0, keepOutputProcessing: false) : null;
            if (terminal)
            {
                Console.Error.Write($"vessel: attached to {parseResult.GetValue(name)}'s console; Ctrl-] detaches.\r\n");
            }

            try
            {
                await RelayAsync(socket, cancellationToken);
            }
            finally
            {
                if (saved is not null)
                {
                    Terminal.Restore(0, saved);
                    Console.Error.WriteLine();
                    Console.Error.WriteLine("vessel: detached; the VM runs on.");
                }
            }

            return 0;
        });
        return command;
    }

    private static async Task RelayAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using Stream stdout = Console.OpenStandardOutput();
        Task fromGuest = Task.Run(async () =>
        {
            byte[] buffer = new byte[16384];
            try
            {
                while (true)
                {
                    WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, done.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    await stdout.WriteAsync(buffer.AsMemory(0, result.Count), done.Token);
                    await stdout.FlushAsync(done.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        });
        Task toGuest = Task.Run(async () =>
        {
            using Stream stdin = Console.OpenStandardInput();
            byte[] buffer = new byte[4096];
            try
            {
                int read;
                while ((read = await stdin.ReadAsync(buffer, done.Token)) > 0)
                {
                    int detach = Array.IndexOf(buffer, DetachKey, 0, read);
                    int length = detach >= 0 ? detach : read;
                    if (length > 0)
                    {
                        await socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Binary, true, done.Token);
                    }

                    if (detach >= 0)
                    {
                        break;
                    }
                }

                // End of input (or Ctrl-]): leave output a moment to drain, then detach.
                await Task.Delay(300, done.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        });
        await Task.WhenAny(fromGuest, toGuest);
        await done.CancelAsync();
        try
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException or OperationCanceledException)
        {
        }
    }
}
