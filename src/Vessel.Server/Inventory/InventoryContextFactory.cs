using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Vessel.Server.Inventory;

/// <summary>How <c>dotnet ef</c> builds the context at design time (to add migrations): SQLite on a scratch file.</summary>
public sealed class InventoryContextFactory : IDesignTimeDbContextFactory<InventoryContext>
{
    public InventoryContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<InventoryContext>().UseSqlite("Data Source=design-time.db").Options);
}
