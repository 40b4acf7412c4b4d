using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Audit;

namespace Vessel.Server.Tests.Audit;

/// <summary>What the audit tests share: a login endpoint of their own, the log read back, SQL straight into the database, a CSV reader.</summary>
internal static class AuditTestSupport
{
    /// <summary>
    /// A stand-in login at <c>/api/v1/test/login</c>, recorded as <c>access.login</c>: it leaves the
    /// tried name where the real login does (<see cref="Caller.LoginSubjectItem"/>) and accepts
    /// the password "right", so the middleware's recording of logins is tested on its own.
    /// </summary>
    public const string TestLoginPath = "/api/v1/test/login";

    public static void MapTestLogin(WebApplication app)
    {
        // Requests of the test server come from no address (as on the Unix socket); this header
        // gives one, as a client on the network has. Set inside the audit middleware, which reads it after the request.
        app.Use((http, next) =>
        {
            if (http.Request.Headers[RemoteAddressHeader] is [{ } address])
            {
                http.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(address);
            }

            return next(http);
        });
        app.MapPost(TestLoginPath, (LoginBody body, HttpContext http) =>
        {
            http.Items[Caller.LoginSubjectItem] = body.Username;
            return body.Password == "right"
                ? Results.Ok(new { username = body.Username })
                : Results.Problem(statusCode: 401, detail: "The user name or password is wrong.");
        }).AllowAnonymous().WithAuditAction("access.login");
    }

    public const string RemoteAddressHeader = "X-Test-Remote-Address";

    public sealed record LoginBody(string Username, string Password);

    public static async Task<List<AuditEntryInfo>> AllAsync(VesselClient client)
    {
        Page<AuditEntryInfo> page = await client.ListAuditAsync(new AuditQuery(), 1, 1000);
        return page.Items.OrderBy(e => e.Sequence).ToList();
    }

    /// <summary>Runs SQL on the daemon's database from outside, as someone with the file would.</summary>
    public static int Sql(string databasePath, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteNonQuery();
    }

    public static async Task<HttpResponseMessage> LoginAsync(HttpClient http, string user, string password) =>
        await http.PostAsJsonAsync(TestLoginPath, new LoginBody(user, password));

    /// <summary>Reads RFC 4180 CSV (quoted fields with doubled quotes and line breaks inside).</summary>
    public static List<List<string>> ReadCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.True(field.Length == 0, $"a quote inside an unquoted field at {i}");
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        Assert.False(quoted, "the CSV ends inside a quoted field");
        Assert.True(field.Length == 0 && row.Count == 0, "the CSV's last row has no line end");
        return rows;
    }
}
