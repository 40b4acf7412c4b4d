using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Vessel.Server.Hosting;

namespace Vessel.Server.Inventory;

/// <summary>
/// <c>vessel serve --migrate-database-from FILE --database postgres://...</c>: copies a
/// single-host SQLite inventory into an empty PostgreSQL one, row for row (ids, versions, times
/// and the audit chain as they are), in one transaction. The tables come from the model, so a
/// table added later is copied without a change here.
/// </summary>
internal static class InventoryCopy
{
    private static readonly MethodInfo s_hasRows = typeof(InventoryCopy).GetMethod(nameof(HasRows), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo s_rowsOf = typeof(InventoryCopy).GetMethod(nameof(RowsOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Copies the inventory in <paramref name="sourcePath"/> into <paramref name="target"/>, which must be empty (its schema migrated).</summary>
    public static void FromSqlite(string sourcePath, InventoryContext target, string targetDescription)
    {
        string path = Path.GetFullPath(sourcePath);
        if (!File.Exists(path))
        {
            throw new ServerStartException($"there is no inventory to migrate from at {path}");
        }

        List<IEntityType> tables = target.Model.GetEntityTypes().Where(t => !t.IsOwned()).ToList();
        if (tables.FirstOrDefault(t => Invoke<bool>(s_hasRows, t, target)) is { } occupied)
        {
            throw new ServerStartException($"the {targetDescription} already holds an inventory (its table {occupied.GetTableName()} has rows); --migrate-database-from copies only into an empty database, so give a new one");
        }

        // The copy is read from a snapshot made by SQLite's backup API: the user's file is not
        // changed (an older schema is brought up to date in the snapshot), and a file still in
        // use by a daemon is read as of one moment.
        string snapshot = Path.Combine(Path.GetTempPath(), $"vessel-migrate-{Guid.NewGuid():N}.db");
        try
        {
            InventoryDatabase.CheckIntegrity(path);
            try
            {
                using var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = snapshot, Pooling = false }.ToString());
                from.Open();
                to.Open();
                from.BackupDatabase(to);
            }
            catch (SqliteException e)
            {
                throw new ServerStartException($"the inventory {path} cannot be read ({InventoryDatabase.FirstSentence(e.Message)})");
            }

            using InventoryContext source = InventoryConnection.Sqlite(snapshot).CreateContext();
            InventoryDatabase.PrepareSqlite(source, snapshot);
            source.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
            target.ChangeTracker.AutoDetectChangesEnabled = false;
            using var transaction = target.Database.BeginTransaction();
            foreach (IEntityType table in tables)
            {
                foreach (object row in Invoke<IEnumerable<object>>(s_rowsOf, table, source))
                {
                    target.Add(row);
                }
            }

            // One SaveChanges: EF orders the inserts by their foreign keys (a linked clone's
            // volume after its backing volume, a disk after its VM and volume).
            target.SaveChanges();
            transaction.Commit();
            target.ChangeTracker.Clear();
            target.ChangeTracker.AutoDetectChangesEnabled = true;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (string file in new[] { snapshot, snapshot + "-wal", snapshot + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    private static T Invoke<T>(MethodInfo method, IEntityType table, InventoryContext context) =>
        (T)method.MakeGenericMethod(table.ClrType).Invoke(null, [context])!;

    private static bool HasRows<T>(InventoryContext context)
        where T : class => context.Set<T>().Any();

    private static IEnumerable<object> RowsOf<T>(InventoryContext context)
        where T : class => context.Set<T>().ToList();
}
