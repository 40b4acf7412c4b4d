using Microsoft.EntityFrameworkCore;
using Vessel.Server.Licensing;

namespace Vessel.Server.Inventory;

public partial class InventoryContext
{
    public DbSet<LicenseStateRecord> LicenseState => Set<LicenseStateRecord>();

    static partial void ConfigureLicensing(ModelBuilder model)
    {
        model.Entity<LicenseStateRecord>(state =>
        {
            state.ToTable("LicenseState");
            state.HasKey(s => s.Id);
            state.Property(s => s.Id).ValueGeneratedNever();
            state.Property(s => s.LicenseText).HasMaxLength(LicenseStateRecord.MaxLicenseLength);
            state.Property(s => s.InstalledBy).HasMaxLength(255);
        });
    }
}
