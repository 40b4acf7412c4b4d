using System.CommandLine;
using System.Text.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Cli.Commands.Img;

namespace Vessel.Cli.Commands.Platform;

/// <summary>
/// What every client command of <c>vessel serve</c> shares: <c>--data-dir</c> (and
/// <c>VESSEL_DATA_DIR</c>) to find the daemon's socket, or <c>--server URL</c> with a token from
/// <c>VESSEL_TOKEN</c> and the certificate's fingerprint pinned with <c>--fingerprint</c> (or
/// <c>VESSEL_FINGERPRINT</c>) for a daemon elsewhere, <c>--output table|json</c>, the API's
/// errors as one sentence (a refused request's detail; 400 is a usage mistake, exit 2; anything
/// else exit 1), and a progress bar while an operation runs.
/// </summary>
internal static class ClientCommand
{
    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "The daemon's data directory, where its socket is (default: VESSEL_DATA_DIR, /var/lib/vessel as root, $XDG_DATA_HOME/vessel otherwise)",
        HelpName = "DIR",
        Recursive = true,
    };

    public static readonly Option<string?> Server = new("--server")
    {
        Description = "A daemon over the network, https://HOST[:PORT] (default port 8006), instead of the local socket; the token comes from VESSEL_TOKEN",
        HelpName = "URL",
        Recursive = true,
    };

    public static readonly Option<string?> Fingerprint = new("--fingerprint")
    {
        Description = "Trust the server's certificate with this SHA-256 fingerprint (as vessel serve prints it) instead of the system's authorities (default: VESSEL_FINGERPRINT)",
        HelpName = "SHA256",
        Recursive = true,
    };

    public const int DefaultServerPort = 8006;

    public static readonly Option<string> Output = new Option<string>("--output", "-o")
    {
        Description = "table (for people) or json (for scripts)",
        HelpName = "table|json",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    }.OneOf("table", "json");

    public static readonly JsonSerializerOptions PrettyJson = new(VesselClient.JsonOptions) { WriteIndented = true };

    /// <summary>A command group (vm, snapshot, ...) with the shared options on it.</summary>
    public static Command Group(string name, string description, params Command[] subcommands)
    {
        var group = new Command(name, description) { DataDir, Server, Fingerprint, Output };
        foreach (Command subcommand in subcommands)
        {
            group.Subcommands.Add(subcommand);
        }

        return group;
    }

    /// <summary>Sets an action that gets a client of the daemon named by --data-dir.</summary>
    public static void SetClientAction(this Command command, Func<ParseResult, VesselClient, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using VesselClient client = Connect(parseResult);
            try
            {
                return await action(parseResult, client, cancellationToken);
            }
            catch (VesselApiException e)
            {
                throw e.Status == 400 ? UserErrorException.Usage(e.Message) : UserErrorException.Failure(e.Message);
            }
            finally
            {
                // From 30 days before the licence ends, every command says so (never on stdout: scripts read that).
                if (client.LicenseWarning is { } warning)
                {
                    Console.Error.WriteLine($"vessel: warning: {warning}");
                }
            }
        });
    }

    /// <summary>The client the options name: the local socket, or the server of --server with VESSEL_TOKEN.</summary>
    private static VesselClient Connect(ParseResult parseResult)
    {
        string? server = parseResult.GetValue(Server);
        if (string.IsNullOrEmpty(server))
        {
            return VesselClient.ForDataDirectory(DataDirectory.Resolve(parseResult.GetValue(DataDir)));
        }

        if (parseResult.GetValue(DataDir) is not null)
        {
            throw UserErrorException.Usage("Give --server or --data-dir, not both: they name two daemons");
        }

        string? fingerprint = parseResult.GetValue(Fingerprint) ?? Environment.GetEnvironmentVariable("VESSEL_FINGERPRINT");
        if (!string.IsNullOrWhiteSpace(fingerprint) && ServerTrust.ParseFingerprint(fingerprint) is null)
        {
            throw UserErrorException.Usage($"The fingerprint '{fingerprint}' is not a SHA-256 fingerprint; give the 64 hex digits vessel serve prints (colons allowed) with --fingerprint or VESSEL_FINGERPRINT");
        }

        return VesselClient.ForServer(ServerUri(server), Environment.GetEnvironmentVariable("VESSEL_TOKEN"), fingerprint);
    }

    /// <summary>Reads --server: https://HOST[:PORT], or HOST[:PORT] meaning the same; http:// is refused (a token must not travel in the clear).</summary>
    public static Uri ServerUri(string text)
    {
        string value = text.Contains("://", StringComparison.Ordinal) ? text : $"https://{text}";
        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            throw UserErrorException.Usage($"The server '{text}' is not a URL; give --server like https://host:8006");
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            throw UserErrorException.Usage($"The server URL '{text}' is not https://; the daemon serves its API over HTTPS only, and tokens must not travel in the clear");
        }

        bool portGiven = !uri.IsDefaultPort || uri.Authority.EndsWith(":443", StringComparison.Ordinal) || value.Contains($"{uri.Host}:{uri.Port}", StringComparison.OrdinalIgnoreCase);
        return portGiven ? uri : new UriBuilder(uri) { Port = DefaultServerPort }.Uri;
    }

    public static bool Json(ParseResult parseResult) => parseResult.GetValue(Output) == "json";

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, PrettyJson));

    /// <summary>
    /// Follows an operation to its end with a progress bar on a terminal (unless <paramref name="wait"/>
    /// is false: then it prints the operation and returns), and fails with its error in one sentence.
    /// </summary>
    public static async Task<OperationInfo> FollowAsync(ParseResult parseResult, VesselClient client, OperationInfo operation, CancellationToken cancellationToken, bool wait = true)
    {
        if (!wait)
        {
            Report(parseResult, operation);
            return operation;
        }

        bool bar = !Console.IsErrorRedirected && !Json(parseResult);
        using var progress = bar ? new ProgressBar() : null;
        OperationInfo done = await client.WaitAsync(operation, o => progress?.Callback((long)(o.Progress * 1000), 1000), cancellationToken);
        if (done.Status != OperationStatuses.Succeeded)
        {
            throw UserErrorException.Failure(done.Error ?? $"operation {done.Id} {done.Status}");
        }

        return done;
    }

    public static void Report(ParseResult parseResult, OperationInfo operation)
    {
        if (Json(parseResult))
        {
            WriteJson(operation);
        }
        else
        {
            Console.Out.WriteLine($"operation {operation.Id} ({operation.Kind} {operation.Target}): {operation.Status}");
        }
    }

    public static string Size(long bytes) => HumanSize.Format(bytes);

    /// <summary>Parses a size option (256M, 8G; a plain number is <paramref name="defaultUnit"/>).</summary>
    public static long ParseSize(string option, string text, ulong defaultUnit = 1)
    {
        ulong? size = SizeParser.TryParse(text, defaultUnit);
        return size is { } s && s <= long.MaxValue
            ? (long)s
            : throw UserErrorException.Usage($"{option} '{text}' is not a size; write it like 256M or 8G");
    }
}

/// <summary>Writes rows as aligned columns, as people read them.</summary>
internal static class Table
{
    public static void Write(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        List<IReadOnlyList<string>> all = [headers, .. rows];
        int[] widths = headers.Select((_, i) => all.Max(r => i < r.Count ? r[i].Length : 0)).ToArray();
        foreach (IReadOnlyList<string> row in all)
        {
            Console.Out.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Count - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
