using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Vessel.IntegrationTests.Infrastructure;

namespace Vessel.IntegrationTests;

/// <summary>
/// VMs without a terminal, as the platform's agent starts them: the console on a Unix socket
/// that clients attach to and detach from (history kept and replayed), on a pseudo-terminal,
/// and <c>--daemonize</c> with <c>--pidfile</c>, ended through QMP.
/// </summary>
public sealed class HeadlessVmTests
{
    [Fact]
    public void SerialSocketCanBeAttachedDetachedAndReattachedWithHistoryKept()
    {
        using var temp = new TempDirectory();
        string console = temp.File("console.sock");
        string qmpSocket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--serial", $"unix:{console}", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);

        using (var first = ConsoleClient.Attach(console))
        {
            // What the guest printed before anyone attached is replayed first.
            first.WaitFor("Linux version");
            first.WaitFor(ReferenceGuest.Prompt);
            first.Send("echo first-$((6*7))\n");
            first.WaitFor("first-42");
            // Output that comes after this client has gone.
            first.Send("sleep 2; echo while-detached-$((7*7))\n");
        }

        // Nothing reached the host's terminal: the console is the socket's.
        Assert.DoesNotContain("GUEST-UP", vm.Output);

        using (var second = ConsoleClient.Attach(console))
        {
            // The history is replayed again: from the boot to what was printed while detached.
            second.WaitFor("Linux version");
            second.WaitFor("first-42");
            second.WaitFor("while-detached-49");
            second.Send("echo second-$((8*8))\n");
            second.WaitFor("second-64");
        }

        using (var third = ConsoleClient.Attach(console))
        {
            third.WaitFor("second-64");
        }

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
        Assert.False(File.Exists(console), "the console socket was left behind");
    }

    [Fact]
    public void QmpWaitOnHoldsTheVmUntilAClientConnects()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock");
        string console = temp.File("console.txt");
        // wait=on is QEMU's default for a listening QMP socket.
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--serial", $"file:{console}", "--qmp", $"unix:{qmpSocket},server=on");
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (!vm.Error.Contains($"vessel: waiting for a QMP client on unix:{qmpSocket}", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no waiting message; stderr:\n{vm.Error}");
            Thread.Sleep(100);
        }

        // Nothing has run yet: the console file is still empty.
        Assert.Equal(0, new FileInfo(console).Length);

        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);
        while (qmp.Run("query-status")["status"]!.GetValue<string>() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the VM did not start after the client connected");
            Thread.Sleep(100);
        }

        while (!File.ReadAllText(console).Contains("GUEST-UP", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the guest did not boot after the client connected");
            Thread.Sleep(200);
        }

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void SerialPtyIsAnnouncedAsQemuAnnouncesIt()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--serial", "pty", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        Match announced = vm.WaitFor(new Regex(@"char device redirected to (/dev/pts/\d+) \(label serial0\)"));
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);

        using var terminal = new FileStream(announced.Groups[1].Value, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        var received = new StringBuilder();
        var reader = new Thread(() =>
        {
            byte[] buffer = new byte[4096];
            try
            {
                int read;
                while ((read = terminal.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (received)
                    {
                        received.Append(Encoding.Latin1.GetString(buffer, 0, read));
                        Monitor.PulseAll(received);
                    }
                }
            }
            catch (IOException)
            {
            }
        }) { IsBackground = true };
        reader.Start();

        // The shell may not be up yet: ask until it answers.
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (true)
        {
            terminal.Write("echo pty-$((6*7))\n"u8);
            lock (received)
            {
                Monitor.Wait(received, TimeSpan.FromSeconds(2));
                if (received.ToString().Contains("pty-42", StringComparison.Ordinal))
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no answer on the pty; it showed:\n{received}");
        }

        qmp.Run("quit");
        Assert.Equal(0, vm.WaitForExit());
    }

    [Fact]
    public void DaemonizeReturnsOnceTheVmIsUpAndQuitRemovesThePidfile()
    {
        using var temp = new TempDirectory();
        string pidfile = temp.File("vm.pid");
        string qmpSocket = temp.File("qmp.sock");
        string console = temp.File("console.sock");
        using VesselProcess parent = ReferenceGuest.StartInitramfs(
            "--daemonize", "--pidfile", pidfile, "--name", "daemon-vm",
            "--serial", $"unix:{console}", "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        Assert.Equal(0, parent.WaitForExit());

        // When the parent has returned, the VMM is up: its pidfile written and QMP listening.
        int pid = int.Parse(File.ReadAllText(pidfile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Directory.Exists($"/proc/{pid}"), $"process {pid} from the pidfile is not running");
        Assert.True(File.Exists(qmpSocket));
        try
        {
            using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);
            Assert.Equal("daemon-vm", qmp.Run("query-name")["name"]!.GetValue<string>());
            using (var consoleClient = ConsoleClient.Attach(console))
            {
                consoleClient.WaitFor(ReferenceGuest.Prompt);
            }

            // A second VMM may not take over the pidfile of a running one.
            using VesselProcess second = ReferenceGuest.StartInitramfs("--daemonize", "--pidfile", pidfile, "--serial", "null");
            Assert.Equal(1, second.WaitForExit());
            Assert.Contains($"--pidfile '{pidfile}' belongs to process {pid}, which is still running.", second.Error);

            qmp.Run("quit");
            qmp.WaitForEndOfStream();
            WaitUntilGone(pid);
        }
        finally
        {
            if (Directory.Exists($"/proc/{pid}"))
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
        }

        Assert.False(File.Exists(pidfile), "the pidfile was left behind");
        Assert.False(File.Exists(qmpSocket), "the QMP socket was left behind");
    }

    [Fact]
    public void DaemonizeReportsAnErrorBeforeTheVmIsUp()
    {
        using var temp = new TempDirectory();
        using VesselProcess missingKernel = VesselProcess.Start(
            "run", "--kernel", temp.File("no-such-Image"), "--daemonize", "--serial", "null", "--qmp", $"unix:{temp.File("qmp.sock")},server=on,wait=off");
        Assert.Equal(1, missingKernel.WaitForExit());
        Assert.Matches(@"^vessel: .*no-such-Image.*\n$", missingKernel.Error);

        using VesselProcess onTerminal = ReferenceGuest.StartInitramfs("--daemonize");
        Assert.Equal(2, onTerminal.WaitForExit());
        Assert.Equal("vessel: --daemonize needs --serial unix:PATH, pty, file:PATH or null: a daemon has no terminal for the console.\n", onTerminal.Error);

        using VesselProcess control = ReferenceGuest.StartInitramfs("--control", temp.File("control.sock"));
        Assert.Equal(2, control.WaitForExit());
        Assert.Contains("--control was replaced by --qmp", control.Error);
    }

    [Fact]
    public void SigtermEndsAHeadlessVmWithAShutdownEvent()
    {
        using var temp = new TempDirectory();
        string qmpSocket = temp.File("qmp.sock");
        string pidfile = temp.File("vm.pid");
        using VesselProcess vm = ReferenceGuest.StartInitramfs("--serial", "null", "--pidfile", pidfile, "--qmp", $"unix:{qmpSocket},server=on,wait=off");
        using QmpClient qmp = QmpClient.ConnectAndNegotiate(qmpSocket);
        int pid = int.Parse(File.ReadAllText(pidfile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        Assert.Equal("{\"guest\":false,\"reason\":\"host-signal\"}", qmp.WaitForEvent("SHUTDOWN")["data"]!.ToJsonString());
        Assert.Equal(0, vm.WaitForExit());
        Assert.False(File.Exists(pidfile), "the pidfile was left behind");
    }

    private static void WaitUntilGone(int pid)
    {
        DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
        while (Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"process {pid} did not end");
            Thread.Sleep(100);
        }
    }

    /// <summary>A client of a <c>--serial unix:</c> console, as <c>socat</c> would be.</summary>
    private sealed class ConsoleClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly StringBuilder _received = new();
        private int _searchFrom;

        private ConsoleClient(Socket socket)
        {
            _socket = socket;
            new Thread(Read) { IsBackground = true }.Start();
        }

        public static ConsoleClient Attach(string path)
        {
            DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
            while (true)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    socket.Connect(new UnixDomainSocketEndPoint(path));
                    return new ConsoleClient(socket);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    socket.Dispose();
                    Thread.Sleep(100);
                }
            }
        }

        public void Send(string text) => _socket.Send(Encoding.ASCII.GetBytes(text));

        public void WaitFor(string text)
        {
            DateTime deadline = DateTime.UtcNow + VesselProcess.DefaultTimeout;
            lock (_received)
            {
                while (true)
                {
                    int index = _received.ToString().IndexOf(text, _searchFrom, StringComparison.Ordinal);
                    if (index >= 0)
                    {
                        _searchFrom = index + text.Length;
                        return;
                    }

                    TimeSpan left = deadline - DateTime.UtcNow;
                    Assert.True(left > TimeSpan.Zero, $"the console did not show '{text}'; it showed:\n{_received}");
                    Monitor.Wait(_received, left);
                }
            }
        }

        private void Read()
        {
            byte[] buffer = new byte[4096];
            try
            {
                int read;
                while ((read = _socket.Receive(buffer)) > 0)
                {
                    lock (_received)
                    {
                        _received.Append(Encoding.Latin1.GetString(buffer, 0, read));
                        Monitor.PulseAll(_received);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
