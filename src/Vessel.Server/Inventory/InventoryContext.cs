using Microsoft.EntityFrameworkCore;

namespace Vessel.Server.Inventory;

/// <summary>
/// The inventory: VMs, their disks, NICs and snapshots, pools and volumes, networks and
/// operations. This class is the model, and SQLite's context (one host, its migrations in
/// Migrations/Sqlite); <see cref="PostgresInventoryContext"/> is the same model on PostgreSQL
/// (many hosts). Each area (access control, audit, licensing) keeps its tables in its own part
/// of this class.
/// </summary>
public partial class InventoryContext : DbContext
{
    public InventoryContext(DbContextOptions<InventoryContext> options)
        : base(options)
    {
    }

    /// <summary>For a provider's subclass, whose options are typed by its own class.</summary>
    protected InventoryContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>Names are at most this long, everywhere (a VM, pool, volume, network or snapshot).</summary>
    public const int NameLength = 63;

    public DbSet<VmRecord> Vms => Set<VmRecord>();
    public DbSet<DiskRecord> Disks => Set<DiskRecord>();
    public DbSet<NicRecord> Nics => Set<NicRecord>();
    public DbSet<PoolRecord> Pools => Set<PoolRecord>();
    public DbSet<VolumeRecord> Volumes => Set<VolumeRecord>();
    public DbSet<SnapshotRecord> Snapshots => Set<SnapshotRecord>();
    public DbSet<NetworkRecord> Networks => Set<NetworkRecord>();
    public DbSet<OperationRecord> Operations => Set<OperationRecord>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<VmRecord>(vm =>
        {
            vm.HasKey(v => v.Id);
            vm.Property(v => v.Name).HasMaxLength(NameLength);
            vm.HasIndex(v => v.Name).IsUnique();
            vm.HasIndex(v => v.State);
            vm.HasIndex(v => v.CreatedAt);
            vm.Property(v => v.State).HasMaxLength(16);
            vm.Property(v => v.Description).HasMaxLength(1024);
            vm.Property(v => v.Tags).HasMaxLength(1024);
            vm.Property(v => v.Firmware).HasMaxLength(4096);
            vm.Property(v => v.CpuEngine).HasMaxLength(16);
            vm.Property(v => v.Console).HasMaxLength(16);
            vm.Property(v => v.Display).HasMaxLength(16).HasDefaultValue("none");
            vm.Property(v => v.Version).IsConcurrencyToken();
            vm.HasMany(v => v.Disks).WithOne().HasForeignKey(d => d.VmId).OnDelete(DeleteBehavior.Cascade);
            vm.HasMany(v => v.Nics).WithOne().HasForeignKey(n => n.VmId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<DiskRecord>(disk =>
        {
            disk.HasKey(d => d.Id);
            disk.HasIndex(d => new { d.VmId, d.Slot }).IsUnique();
            disk.HasOne(d => d.Volume).WithMany().HasForeignKey(d => d.VolumeId).OnDelete(DeleteBehavior.Restrict);
        });
        model.Entity<NicRecord>(nic =>
        {
            nic.HasKey(n => n.Id);
            nic.HasIndex(n => new { n.VmId, n.Slot }).IsUnique();
            nic.Property(n => n.Mac).HasMaxLength(17);
            nic.Property(n => n.PortForwards).HasMaxLength(2048);
            nic.HasOne(n => n.Network).WithMany().HasForeignKey(n => n.NetworkId).OnDelete(DeleteBehavior.Restrict);
        });
        model.Entity<PoolRecord>(pool =>
        {
            pool.HasKey(p => p.Id);
            pool.Property(p => p.Name).HasMaxLength(NameLength);
            pool.HasIndex(p => p.Name).IsUnique();
            pool.Property(p => p.Path).HasMaxLength(4096);
        });
        model.Entity<VolumeRecord>(volume =>
        {
            volume.HasKey(v => v.Id);
            volume.Property(v => v.Name).HasMaxLength(NameLength);
            volume.Property(v => v.Format).HasMaxLength(8);
            volume.Property(v => v.FileName).HasMaxLength(255);
            volume.HasIndex(v => new { v.PoolId, v.Name }).IsUnique();
            volume.HasOne(v => v.Pool).WithMany().HasForeignKey(v => v.PoolId).OnDelete(DeleteBehavior.Restrict);
            volume.HasOne<VolumeRecord>().WithMany().HasForeignKey(v => v.BackingVolumeId).OnDelete(DeleteBehavior.Restrict);
        });
        model.Entity<SnapshotRecord>(snapshot =>
        {
            snapshot.HasKey(s => s.Id);
            snapshot.Property(s => s.Name).HasMaxLength(NameLength);
            snapshot.Property(s => s.Description).HasMaxLength(1024);
            snapshot.Property(s => s.VmState).HasMaxLength(16);
            snapshot.HasIndex(s => new { s.VmId, s.Name }).IsUnique();
            snapshot.HasOne<VmRecord>().WithMany().HasForeignKey(s => s.VmId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<NetworkRecord>(network =>
        {
            network.HasKey(n => n.Id);
            network.Property(n => n.Name).HasMaxLength(NameLength);
            network.HasIndex(n => n.Name).IsUnique();
            network.Property(n => n.Kind).HasMaxLength(16);
            network.Property(n => n.Bridge).HasMaxLength(15);
        });
        model.Entity<OperationRecord>(operation =>
        {
            operation.HasKey(o => o.Id);
            operation.Property(o => o.Kind).HasMaxLength(32);
            operation.Property(o => o.TargetKind).HasMaxLength(16);
            operation.Property(o => o.Target).HasMaxLength(NameLength * 2 + 1);
            operation.Property(o => o.Status).HasMaxLength(16);
            operation.HasIndex(o => o.CreatedAt);
        });
        ConfigureAccess(model);
        ConfigureAudit(model);
        ConfigureLicensing(model);
        ConfigureHosts(model);
    }

    /// <summary>Users, groups, roles, permissions, tokens and sessions (Access/).</summary>
    static partial void ConfigureAccess(ModelBuilder model);

    /// <summary>The audit log (Audit/).</summary>
    static partial void ConfigureAudit(ModelBuilder model);

    /// <summary>Licences and the evaluation period (Licensing/).</summary>
    static partial void ConfigureLicensing(ModelBuilder model);

    /// <summary>Hosts and their join tokens (Hosts/).</summary>
    static partial void ConfigureHosts(ModelBuilder model);
}
