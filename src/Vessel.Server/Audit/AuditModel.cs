using Microsoft.EntityFrameworkCore;
using Vessel.Server.Audit;

namespace Vessel.Server.Inventory;

public partial class InventoryContext
{
    public DbSet<AuditEntryRecord> AuditEntries => Set<AuditEntryRecord>();
    public DbSet<AuditStateRecord> AuditState => Set<AuditStateRecord>();

    static partial void ConfigureAudit(ModelBuilder model)
    {
        model.Entity<AuditEntryRecord>(entry =>
        {
            entry.ToTable("AuditEntries");
            entry.HasKey(e => e.Sequence);
            entry.Property(e => e.Sequence).ValueGeneratedNever();
            entry.Property(e => e.User).HasMaxLength(AuditEntryRecord.UserLength);
            entry.Property(e => e.Source).HasMaxLength(AuditEntryRecord.SourceLength);
            entry.Property(e => e.Action).HasMaxLength(AuditEntryRecord.ActionLength);
            entry.Property(e => e.Object).HasMaxLength(AuditEntryRecord.ObjectLength);
            entry.Property(e => e.Detail).HasMaxLength(AuditEntryRecord.DetailLength);
            entry.Property(e => e.PreviousHash).HasMaxLength(64);
            entry.Property(e => e.Hash).HasMaxLength(64);
            entry.HasIndex(e => e.Time);
            entry.HasIndex(e => e.User);
            entry.HasIndex(e => e.Action);
        });
        model.Entity<AuditStateRecord>(state =>
        {
            state.ToTable("AuditState");
            state.HasKey(s => s.Id);
            state.Property(s => s.Id).ValueGeneratedNever();
            state.Property(s => s.HeadHash).HasMaxLength(64);
            state.Property(s => s.CheckpointHash).HasMaxLength(64);
        });
    }
}
