using Npgsql;
using Vessel.Server.Hosting;

namespace Vessel.Server.Inventory;

/// <summary>
/// <c>postgres://USER:PASSWORD@HOST:PORT/DATABASE</c> (or <c>postgresql://</c>, as libpq
/// spells it) as Npgsql's connection string. User and password are percent-decoded; the port
/// defaults to 5432; <c>?sslmode=</c> is the one parameter taken. No sentence it throws holds
/// the password.
/// </summary>
public static class PostgresUrl
{
    public const int DefaultPort = 5432;

    public static NpgsqlConnectionStringBuilder Parse(string url)
    {
        const string Form = "postgres://USER:PASSWORD@HOST:PORT/DATABASE";
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("postgres" or "postgresql"))
        {
            // The value may be a password typed in the wrong place: say what it should be, not what it is.
            throw new ServerStartException($"the inventory's database (--database or VESSEL_DATABASE) is given as a PostgreSQL URL, {Form}, and what was given is not one");
        }

        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        string[] credentials = uri.UserInfo.Split(':', 2);
        string user = Uri.UnescapeDataString(credentials[0]);
        if (uri.Host.Length == 0 || user.Length == 0 || database.Length == 0 || database.Contains('/'))
        {
            throw new ServerStartException($"the --database URL for {Where(uri)} needs a user, a host and a database ({Form})");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? DefaultPort : uri.Port,
            Username = user,
            Database = database,
            // A server that does not answer is a start error within seconds, not a hang.
            Timeout = 10,
            // The daemon's name in pg_stat_activity, so that a DBA can tell its connections apart.
            ApplicationName = "vessel serve",
        };
        if (credentials.Length == 2)
        {
            builder.Password = Uri.UnescapeDataString(credentials[1]);
        }

        foreach (string parameter in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] pair = parameter.Split('=', 2);
            string name = Uri.UnescapeDataString(pair[0]);
            string value = pair.Length == 2 ? Uri.UnescapeDataString(pair[1]) : "";
            if (name != "sslmode" || !Enum.TryParse(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out SslMode mode))
            {
                throw new ServerStartException($"the --database URL for {Where(uri)} takes only ?sslmode=disable|allow|prefer|require|verify-ca|verify-full as a parameter, not '{name}={value}'");
            }

            builder.SslMode = mode;
        }

        return builder;
    }

    /// <summary>The server, user and database, as told to the user (never the password).</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"PostgreSQL database {builder.Database} on {builder.Host}:{builder.Port} as {builder.Username}";

    private static string Where(Uri uri) => uri.Port > 0 ? $"{uri.Host}:{uri.Port}" : uri.Host;
}
