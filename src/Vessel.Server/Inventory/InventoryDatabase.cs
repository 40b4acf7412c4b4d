using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Vessel.Server.Hosting;

namespace Vessel.Server.Inventory;

/// <summary>
/// Opens the inventory at start: checks that an existing file is a healthy SQLite database
/// (never overwriting one that is not), or that the PostgreSQL server answers; brings its schema
/// up to date with the provider's migrations, and adds what every host has (the default pool and
/// NAT network).
/// </summary>
public static class InventoryDatabase
{
    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, DefaultTimeout = 60, Pooling = true }.ToString();

    /// <summary>
    /// Checks the file (SQLite) or reaches the server (PostgreSQL), migrates, copies the
    /// inventory of <see cref="ServerOptions.MigrateDatabaseFrom"/> when given, and seeds; throws
    /// <see cref="ServerStartException"/> with one sentence when the database is not usable.
    /// </summary>
    public static void Prepare(InventoryContext context, ServerOptions options)
    {
        if (context is PostgresInventoryContext)
        {
            PreparePostgres(context, options);
        }
        else
        {
            if (options.MigrateDatabaseFrom is not null)
            {
                throw new ServerStartException("copying an inventory with --migrate-database-from needs the PostgreSQL database to copy into: give it with --database postgres://USER:PASSWORD@HOST:PORT/DATABASE");
            }

            PrepareSqlite(context, options.DatabasePath);
        }

        Seed(context, options);
    }

    /// <summary>Checks an existing file, then brings its schema up to date.</summary>
    internal static void PrepareSqlite(InventoryContext context, string path)
    {
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            CheckIntegrity(path);
        }

        try
        {
            // WAL: a reader never waits for a writer, and a crash mid-write never leaves the
            // database torn (the journal is replayed or dropped as a whole at the next open).
            context.Database.OpenConnection();
            context.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
            context.Database.ExecuteSqlRaw("PRAGMA synchronous=FULL;");
            context.Database.Migrate();
        }
        catch (SqliteException e)
        {
            throw new ServerStartException($"the inventory database {path} cannot be opened ({e.SqliteErrorCode}: {FirstSentence(e.Message)}); it was left as it is");
        }
        finally
        {
            context.Database.CloseConnection();
        }
    }

    private static void PreparePostgres(InventoryContext context, ServerOptions options)
    {
        string where = PostgresUrl.Describe(PostgresUrl.Parse(options.DatabaseUrl!));
        try
        {
            // The provider reads the history table before it makes it, and logs the failed read of
            // a new database as an error (npgsql/efcore.pg#3407): made first, with EF's own script.
            context.Database.ExecuteSqlRaw(context.GetService<IHistoryRepository>().GetCreateIfNotExistsScript());
            context.Database.Migrate();
            if (options.MigrateDatabaseFrom is { } source)
            {
                InventoryCopy.FromSqlite(source, context, where);
            }
        }
        catch (Exception e) when (e is NpgsqlException || (e is InvalidOperationException && e.InnerException is NpgsqlException))
        {
            throw new ServerStartException($"the inventory's {where} cannot be used ({PostgresReason(e as NpgsqlException ?? (NpgsqlException)e.InnerException!)})");
        }
    }

    /// <summary>Why PostgreSQL refused, in words that never hold the password.</summary>
    private static string PostgresReason(NpgsqlException e) => e switch
    {
        PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } => "the server refused the user name or password",
        PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } => "the server has no such database; create it first (createdb)",
        PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } p => $"the user may not do what the inventory needs: {p.MessageText.TrimEnd('.')}",
        PostgresException p => $"{p.SqlState}: {p.MessageText.TrimEnd('.')}",
        { InnerException: System.Net.Sockets.SocketException s } => $"the server cannot be reached: {s.Message.TrimEnd('.').ToLowerInvariant()}",
        { InnerException: TimeoutException } => "the server did not answer in time",
        _ => FirstSentence(e.Message),
    };

    internal static void CheckIntegrity(string path)
    {
        // Read-only, so that nothing (not even a journal) is written into a file that is not ours.
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        try
        {
            using var connection = new SqliteConnection(builder.ToString());
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check;";
            string? result = command.ExecuteScalar() as string;
            if (result != "ok")
            {
                throw new ServerStartException($"the inventory database {path} is damaged ({result}); it was left as it is: restore it from a backup or move it away to start afresh");
            }
        }
        catch (SqliteException e)
        {
            throw new ServerStartException($"the inventory database {path} is not a usable SQLite database ({FirstSentence(e.Message)}); it was left as it is: restore it from a backup or move it away to start afresh");
        }
    }

    internal static string FirstSentence(string message)
    {
        string text = message.Replace("SQLite Error ", "", StringComparison.Ordinal).Split('\n')[0].Trim().TrimEnd('.');
        int colon = text.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && colon < 6 ? text[(colon + 2)..].Trim('\'') : text.Trim('\'');
    }

    private static void Seed(InventoryContext context, ServerOptions options)
    {
        DateTime now = DateTime.UtcNow;
        if (!context.Pools.Any(p => p.Name == "default"))
        {
            context.Pools.Add(new PoolRecord { Id = Guid.NewGuid(), Name = "default", Path = options.DefaultPoolPath, CreatedAt = now });
        }

        if (!context.Networks.Any(n => n.Name == "default"))
        {
            context.Networks.Add(new NetworkRecord { Id = Guid.NewGuid(), Name = "default", Kind = "nat", CreatedAt = now });
        }

        context.SaveChanges();
        Directory.CreateDirectory(options.DefaultPoolPath);
    }
}
