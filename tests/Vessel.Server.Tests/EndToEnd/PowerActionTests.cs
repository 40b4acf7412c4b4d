using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.EndToEnd;

/// <summary>
/// Reset and reboot as a user meets them on a real daemon and VMM: a reset starts the guest over
/// inside the same VMM process (as pressing the board's reset button), a reboot shuts the guest
/// down and starts a new VMM (so that pending changes apply). Either way the initramfs is fresh.
/// A shutdown can be cancelled while it waits for the guest.
/// </summary>
public sealed class PowerActionTests
{
    private const string Booted = "GUEST-UP";

    [Fact]
    public async Task ResetStartsTheGuestOverInItsVmmACancelledShutdownLeavesItRunningAndRebootStartsANewOne()
    {
        using var temp = new TempDirectory();
        string dataDirectory = temp.File("data");
        ServeProcess serve = await ServeProcess.StartAsync(dataDirectory);
        try
        {
            VesselClient client = serve.Client;
            await client.WaitForSuccessAsync(await client.CreateVmAsync(new VmCreateRequest
            {
                Name = "cycler",
                Kernel = TestFiles.Kernel,
                Initrd = TestFiles.Initrd,
                Append = TestFiles.CommandLine,
                MemoryBytes = 128L << 20,
                Nics = [],
            }));
            await client.WaitForSuccessAsync(await client.VmActionAsync("cycler", "start"));
            int firstVmm = (await client.GetVmAsync("cycler")).ProcessId ?? throw new InvalidOperationException("a running VM without a VMM process");

            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "cycler"))
            {
                console.WaitFor(Booted);
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("echo here > /marker; echo wrote-$((1+1))", "wrote-2");

                OperationInfo reset = await client.WaitForSuccessAsync(await client.VmActionAsync("cycler", "reset"));
                Assert.Equal("vm.reset", reset.Kind);
                // The console stays connected through a reset: the same VMM prints the next boot.
                console.WaitFor(Booted);
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("test -e /marker || echo fresh-$((2+3))", "fresh-5");
                await console.RunAsync("echo here > /marker; echo wrote-$((3+4))", "wrote-7");
            }

            VmDetails afterReset = await client.GetVmAsync("cycler");
            Assert.Equal(VmStates.Running, afterReset.State);
            Assert.Equal(firstVmm, afterReset.ProcessId);

            // A shutdown that the guest does not answer can be cancelled (DELETE on the
            // operation) long before its timeout: the VM runs on in the same VMM.
            OperationInfo shutdown = await client.VmActionAsync("cycler", "shutdown", timeoutSeconds: 600);
            Assert.True(shutdown.MayCancel);
            await client.GetOperationAsync(shutdown.Id, waitSeconds: 1);
            OperationInfo cancelled = await client.WaitAsync(await client.CancelOperationAsync(shutdown.Id));
            Assert.Equal(OperationStatuses.Cancelled, cancelled.Status);
            VmDetails afterCancel = await client.GetVmAsync("cycler");
            Assert.Equal(VmStates.Running, afterCancel.State);
            Assert.Equal(firstVmm, afterCancel.ProcessId);

            // A reboot applies what changed while the VM ran: here its harts.
            VmDetails edited = await client.EditVmAsync("cycler", new VmEditRequest { Cpus = 2 });
            Assert.NotEmpty(edited.PendingChanges);
            // The reference initramfs has nothing that answers a power button: its shutdown ends in
            // the timeout's hard stop, kept short here.
            OperationInfo reboot = await client.WaitForSuccessAsync(await client.VmActionAsync("cycler", "reboot", timeoutSeconds: 5));
            Assert.Equal("vm.reboot", reboot.Kind);
            VmDetails afterReboot = await client.GetVmAsync("cycler");
            Assert.Equal(VmStates.Running, afterReboot.State);
            Assert.NotEqual(firstVmm, afterReboot.ProcessId);
            Assert.Equal(2, afterReboot.Cpus);
            Assert.Empty(afterReboot.PendingChanges);
            await using (ConsoleSession console = await ConsoleSession.AttachAsync(client, "cycler"))
            {
                console.WaitFor(Booted);
                console.WaitFor(TestFiles.Prompt);
                await console.RunAsync("test -e /marker || echo fresh-$((5+6)) harts-$(nproc)", "fresh-11 harts-2");
            }

            await client.WaitForSuccessAsync(await client.VmActionAsync("cycler", "stop"));
            Assert.Equal(VmStates.Stopped, (await client.GetVmAsync("cycler")).State);
        }
        finally
        {
            serve.Dispose();
            VmmProcesses.KillAll(dataDirectory);
        }
    }
}
