using Microsoft.EntityFrameworkCore;
using Vessel.Server.Hosts;

namespace Vessel.Server.Inventory;

public partial class InventoryContext
{
    public DbSet<HostRecord> Hosts => Set<HostRecord>();
    public DbSet<JoinTokenRecord> JoinTokens => Set<JoinTokenRecord>();

    static partial void ConfigureHosts(ModelBuilder model)
    {
        model.Entity<HostRecord>(host =>
        {
            host.HasKey(h => h.Id);
            host.Property(h => h.Name).HasMaxLength(NameLength);
            host.HasIndex(h => h.Name).IsUnique();
            host.Property(h => h.State).HasMaxLength(16);
            host.Property(h => h.Address).HasMaxLength(64);
            host.Property(h => h.AgentVersion).HasMaxLength(32);
            host.Property(h => h.CertificateSerial).HasMaxLength(64);
            host.Property(h => h.CertificateFingerprint).HasMaxLength(96);
        });
        model.Entity<JoinTokenRecord>(token =>
        {
            token.HasKey(t => t.Id);
            token.Property(t => t.Id).HasMaxLength(32);
            token.Property(t => t.SecretHash).HasMaxLength(32);
            token.HasIndex(t => t.HostId);
            token.HasOne<HostRecord>().WithMany().HasForeignKey(t => t.HostId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
