using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Vessel.Client.Contracts;
using Vessel.Server.Inventory;
using Vessel.Server.Operations;
using Vessel.Server.Storage;
using Vessel.Server.Vmm;

namespace Vessel.Server.Hosting;

/// <summary>
/// What the daemon does once it runs: makes the default template from Vessel's own guest on
/// first start (building the guest in the background when it is not built yet, and saying so),
/// and starts the VMs marked autostart, in their order, each one's delay after it.
/// </summary>
public sealed class StartupTasks(ServerOptions options, IServiceScopeFactory scopes, OperationManager operations, VmLifecycle lifecycle, StartupTasks.DefaultTemplateStatus status, ILogger<StartupTasks> logger) : BackgroundService
{
    public const string DefaultTemplateName = "default";

    /// <summary>Where the default template stands, for <c>GET /api/v1</c>.</summary>
    public sealed class DefaultTemplateStatus
    {
        public string? Template { get; set; }
        public string? Message { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await EnsureDefaultTemplateAsync();
            await AutostartAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Start-up tasks failed");
        }
    }

    private async Task EnsureDefaultTemplateAsync()
    {
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
        if (await db.Vms.AnyAsync(v => v.Name == DefaultTemplateName && v.IsTemplate))
        {
            status.Template = DefaultTemplateName;
            status.Message = "ready";
            return;
        }

        string marker = Path.Combine(options.DataDirectory, ".default-template-made");
        if (!options.CreateDefaultTemplate || File.Exists(marker) || await db.Vms.AnyAsync(v => v.Name == DefaultTemplateName))
        {
            status.Message = "not made (turned off, or the name 'default' is taken)";
            return;
        }

        string? builder = FindBuilder();
        if (builder is null)
        {
            status.Message = "not made: tools/guest/build-guest was not found beside this vessel";
            return;
        }

        status.Message = "being made (see the template.default operation)";
        await operations.StartAsync("template.default", new OperationManager.Target("VM", DefaultTemplateName, VmCreation.NameLock(DefaultTemplateName)), mayCancel: false, async context =>
        {
            string[]? files = await RunBuilderAsync(builder, "--check", null, context.CancellationToken);
            if (files is null)
            {
                status.Message = "building Vessel's default guest from Debian's packages (a few minutes, once)";
                context.Log("The default guest is not built yet: building it from Debian's packages (a few minutes, once).");
                files = await RunBuilderAsync(builder, null, context, context.CancellationToken)
                    ?? throw new OperationFailedException("Building the default guest failed; see this operation's log.");
            }

            InventoryContext opDb = context.Services.GetRequiredService<InventoryContext>();
            var volumes = new VolumeService(opDb);
            PoolRecord pool = await volumes.FindPoolAsync("default");
            string volumeName = await volumes.UniqueNameAsync(pool, "default-root");
            context.Log($"Importing the guest's root disk as {pool.Name}/{volumeName}.");
            VolumeRecord root = await volumes.ImportAsync(pool, volumeName, files[2], "qcow2", null, context.Progress, context.CancellationToken, readOnly: true);
            NetworkRecord network = await opDb.Networks.FirstAsync(n => n.Name == "default");
            var template = new VmRecord
            {
                Id = Guid.NewGuid(),
                Name = DefaultTemplateName,
                Description = "Vessel's default guest: Debian's kernel, BusyBox and an ext4 root disk. Deploy with: vessel vm create NAME --template default",
                Kernel = files[0],
                // No initramfs: the guest boots from its disk (root=/dev/vda), which is the template.
                Initrd = null,
                Append = "console=ttyS0 root=/dev/vda rw init=/init panic=-1",
                IsTemplate = true,
                State = VmStates.Stopped,
                CreatedAt = DateTime.UtcNow,
                UpdatedAt = DateTime.UtcNow,
                Disks = [new DiskRecord { Id = Guid.NewGuid(), Slot = 0, VolumeId = root.Id }],
                Nics = [new NicRecord { Id = Guid.NewGuid(), Slot = 0, NetworkId = network.Id, Mac = VmDefinitions.NewMac() }],
            };
            opDb.Vms.Add(template);
            await opDb.SaveChangesAsync();
            await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O"));
            status.Template = DefaultTemplateName;
            status.Message = "ready";
            return DefaultTemplateName;
        });
    }

    private static string? FindBuilder()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "tools", "guest", "build-guest");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs the guest builder; returns the kernel, initramfs and root disk it names, or null.</summary>
    private static async Task<string[]?> RunBuilderAsync(string builder, string? mode, OperationContext? log, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(builder);
        if (mode is not null)
        {
            start.ArgumentList.Add(mode);
        }

        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                log?.Log(line);
            }
        };
        process.BeginErrorReadLine();
        string output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return process.ExitCode == 0 && lines.Length == 3 && lines.All(File.Exists) ? lines : null;
    }

    private async Task AutostartAsync(CancellationToken stoppingToken)
    {
        List<VmRecord> vms;
        await using (AsyncServiceScope scope = scopes.CreateAsyncScope())
        {
            InventoryContext db = scope.ServiceProvider.GetRequiredService<InventoryContext>();
            vms = await db.Vms.AsNoTracking().Where(v => v.AutostartEnabled && !v.IsTemplate && (v.State == VmStates.Stopped || v.State == VmStates.Crashed))
                .OrderBy(v => v.AutostartOrder).ThenBy(v => v.Name).ToListAsync(stoppingToken);
        }

        // As Proxmox's startup "up" delay: a VM's delay is the wait after it has started before
        // the next one starts (time for a database or a DNS server to come up before its users).
        foreach (VmRecord vm in vms)
        {
            try
            {
                OperationInfo operation = await lifecycle.StartAsync(vm);
                await operations.GetAsync(operation.Id, TimeSpan.FromMinutes(5), stoppingToken);
            }
            catch (Api.ApiException e)
            {
                logger.LogWarning("Autostart of VM {Name}: {Reason}", vm.Name, e.Message);
                continue;
            }

            if (vm.AutostartDelaySeconds > 0 && vm != vms[^1])
            {
                await Task.Delay(TimeSpan.FromSeconds(vm.AutostartDelaySeconds), stoppingToken);
            }
        }
    }
}
