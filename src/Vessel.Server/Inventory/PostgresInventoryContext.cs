using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Vessel.Server.Audit;

namespace Vessel.Server.Inventory;

/// <summary>
/// The inventory's model on PostgreSQL. A subclass, not a second model: EF Core keeps one
/// migration set (and one model snapshot) per context type, so the subclass is what lets
/// PostgreSQL's migrations (Migrations/Postgres) live beside SQLite's in this assembly while
/// every entity, key, index and relation stays defined once, in <see cref="InventoryContext"/>.
/// What it adds is only how PostgreSQL stores the same values, so that both providers behave
/// alike.
/// </summary>
public sealed class PostgresInventoryContext(DbContextOptions<PostgresInventoryContext> options) : InventoryContext(options)
{
    /// <summary>
    /// Bytewise string order and equality, as SQLite's BINARY collation: a list sorted by name
    /// comes out in the same order on both, whatever locale the PostgreSQL cluster was made with.
    /// </summary>
    public const string Collation = "C";

    protected override void ConfigureConventions(ModelConfigurationBuilder configuration)
    {
        base.ConfigureConventions(configuration);
        configuration.Properties<string>().UseCollation(Collation);
        // The model's times are UTC: timestamptz is the column for them. Npgsql refuses a DateTime
        // whose Kind is not Utc for it, and SQLite hands times back as Unspecified (a copy from
        // SQLite, or a time computed from one): the converter says what the model means.
        configuration.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>().HaveColumnType("timestamp with time zone");
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        base.OnModelCreating(model);
        // The audit chain hashes each entry's time to the tick (100 ns); timestamptz keeps
        // microseconds, which would break every copied entry's hash. Ticks keep it exact, and
        // their order is the time order, so the time filters and retention work unchanged.
        model.Entity<AuditEntryRecord>().Property(e => e.Time)
            .HasConversion(new ValueConverter<DateTime, long>(t => UtcDateTimeConverter.AsUtc(t).Ticks, ticks => new DateTime(ticks, DateTimeKind.Utc)))
            .HasColumnType("bigint");
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(t => AsUtc(t), t => DateTime.SpecifyKind(t, DateTimeKind.Utc))
    {
        public static DateTime AsUtc(DateTime time) => time.Kind switch
        {
            DateTimeKind.Utc => time,
            DateTimeKind.Local => time.ToUniversalTime(),
            _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        };
    }
}

/// <summary>How <c>dotnet ef</c> builds the PostgreSQL context to add its migrations (no server is contacted).</summary>
public sealed class PostgresInventoryContextFactory : IDesignTimeDbContextFactory<PostgresInventoryContext>
{
    public PostgresInventoryContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresInventoryContext>().UseNpgsql("Host=localhost;Database=vessel_design_time").Options);
}
