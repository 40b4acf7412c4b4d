using Microsoft.EntityFrameworkCore;
using Vessel.Server.Access;

namespace Vessel.Server.Inventory;

public partial class InventoryContext
{
    public DbSet<UserRecord> Users => Set<UserRecord>();
    public DbSet<GroupRecord> Groups => Set<GroupRecord>();
    public DbSet<GroupMemberRecord> GroupMembers => Set<GroupMemberRecord>();
    public DbSet<RoleRecord> Roles => Set<RoleRecord>();
    public DbSet<AclEntryRecord> AclEntries => Set<AclEntryRecord>();
    public DbSet<TokenRecord> Tokens => Set<TokenRecord>();
    public DbSet<SessionRecord> Sessions => Set<SessionRecord>();

    static partial void ConfigureAccess(ModelBuilder model)
    {
        model.Entity<UserRecord>(user =>
        {
            user.HasKey(u => u.Id);
            user.Property(u => u.Name).HasMaxLength(AccessNames.MaxUserLength);
            user.HasIndex(u => u.Name).IsUnique();
            user.Property(u => u.Realm).HasMaxLength(16);
            user.Property(u => u.Comment).HasMaxLength(1024);
            user.Property(u => u.PasswordHash).HasMaxLength(512);
        });
        model.Entity<GroupRecord>(group =>
        {
            group.HasKey(g => g.Id);
            group.Property(g => g.Name).HasMaxLength(NameLength);
            group.HasIndex(g => g.Name).IsUnique();
            group.Property(g => g.Comment).HasMaxLength(1024);
        });
        model.Entity<GroupMemberRecord>(member =>
        {
            member.HasKey(m => new { m.GroupId, m.UserId });
            member.HasOne<GroupRecord>().WithMany().HasForeignKey(m => m.GroupId).OnDelete(DeleteBehavior.Cascade);
            member.HasOne<UserRecord>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<RoleRecord>(role =>
        {
            role.HasKey(r => r.Id);
            role.Property(r => r.Name).HasMaxLength(NameLength);
            role.HasIndex(r => r.Name).IsUnique();
            role.Property(r => r.Privileges).HasMaxLength(2048);
        });
        model.Entity<AclEntryRecord>(acl =>
        {
            acl.HasKey(a => a.Id);
            acl.Property(a => a.Path).HasMaxLength(256);
            acl.Property(a => a.SubjectKind).HasMaxLength(8);
            acl.Property(a => a.Subject).HasMaxLength(AccessNames.MaxTokenIdLength);
            acl.Property(a => a.Role).HasMaxLength(NameLength);
            acl.HasIndex(a => new { a.Path, a.SubjectKind, a.Subject, a.Role }).IsUnique();
            acl.HasIndex(a => a.Subject);
        });
        model.Entity<TokenRecord>(token =>
        {
            token.HasKey(t => t.Id);
            token.Property(t => t.Name).HasMaxLength(NameLength);
            token.HasIndex(t => new { t.UserId, t.Name }).IsUnique();
            token.Property(t => t.SecretHash).HasMaxLength(32);
            token.Property(t => t.Comment).HasMaxLength(1024);
            token.HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        model.Entity<SessionRecord>(session =>
        {
            session.HasKey(s => s.IdHash);
            session.Property(s => s.IdHash).HasMaxLength(32);
            session.Property(s => s.CsrfToken).HasMaxLength(64);
            session.HasIndex(s => s.ExpiresAt);
            session.HasOne(s => s.User).WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
