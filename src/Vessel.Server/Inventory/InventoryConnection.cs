using Microsoft.EntityFrameworkCore;
using Npgsql;
using Vessel.Server.Hosting;

namespace Vessel.Server.Inventory;

/// <summary>The database the inventory lives in.</summary>
public enum InventoryProvider
{
    /// <summary>A file in the data directory: one host.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server: many hosts.</summary>
    Postgres,
}

/// <summary>
/// Where the inventory is (SQLite in the data directory, or the PostgreSQL server of
/// <c>--database postgres://...</c>) and how a context for it is made: the one place that tells
/// the providers apart, so that everything else uses <see cref="InventoryContext"/> alike.
/// </summary>
public sealed class InventoryConnection
{
    private readonly DbContextOptions _options;

    private InventoryConnection(InventoryProvider provider, string connectionString, string description, IServiceProvider? services)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Description = description;
        _options = provider == InventoryProvider.Sqlite
            ? WithServices(new DbContextOptionsBuilder<InventoryContext>(), services).UseSqlite(connectionString).Options
            : WithServices(new DbContextOptionsBuilder<PostgresInventoryContext>(), services).UseNpgsql(connectionString).Options;
    }

    public InventoryProvider Provider { get; }

    /// <summary>The provider's connection string; it holds the password: never print it.</summary>
    public string ConnectionString { get; }

    /// <summary>What the user is told: the file, or the server, user and database without the password.</summary>
    public string Description { get; }

    /// <summary>The SQLite file of <paramref name="databasePath"/>.</summary>
    public static InventoryConnection Sqlite(string databasePath, IServiceProvider? services = null) =>
        new(InventoryProvider.Sqlite, InventoryDatabase.ConnectionString(databasePath), databasePath, services);

    /// <summary>The inventory of <paramref name="databaseUrl"/> (<c>postgres://USER:PASSWORD@HOST:PORT/DB</c>); throws <see cref="ServerStartException"/> when it is not one.</summary>
    public static InventoryConnection Postgres(string databaseUrl, IServiceProvider? services = null)
    {
        NpgsqlConnectionStringBuilder builder = PostgresUrl.Parse(databaseUrl);
        return new(InventoryProvider.Postgres, builder.ConnectionString, PostgresUrl.Describe(builder), services);
    }

    /// <summary>The daemon's inventory: <see cref="ServerOptions.DatabaseUrl"/> when given, else SQLite in the data directory.</summary>
    public static InventoryConnection For(ServerOptions options, IServiceProvider? services = null) =>
        string.IsNullOrEmpty(options.DatabaseUrl) ? Sqlite(options.DatabasePath, services) : Postgres(options.DatabaseUrl, services);

    /// <summary>A new context on this inventory; the caller disposes it.</summary>
    public InventoryContext CreateContext() => Provider == InventoryProvider.Sqlite
        ? new InventoryContext((DbContextOptions<InventoryContext>)_options)
        : new PostgresInventoryContext((DbContextOptions<PostgresInventoryContext>)_options);

    /// <summary>
    /// EF Core logs through the application's services, as AddDbContext does: they are not part of
    /// what EF keys its internal services by (a logger factory given directly is, and each daemon
    /// of a test run would make EF build its internal services anew).
    /// </summary>
    private static DbContextOptionsBuilder<T> WithServices<T>(DbContextOptionsBuilder<T> builder, IServiceProvider? services)
        where T : DbContext => services is null ? builder : builder.UseApplicationServiceProvider(services);
}
