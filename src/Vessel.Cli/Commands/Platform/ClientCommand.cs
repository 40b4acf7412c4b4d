using System.CommandLine;
using System.Text.Json;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Cli.Commands.Img;

namespace Vessel.Cli.Commands.Platform;

/// <summary>
/// What every client command of <c>vessel serve</c> shares: <c>--data-dir</c> (and
/// <c>VESSEL_DATA_DIR</c>) to find the daemon's socket, <c>--output table|json</c>, the API's
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
        var group = new Command(name, description) { DataDir, Output };
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
            using VesselClient client = VesselClient.ForDataDirectory(DataDirectory.Resolve(parseResult.GetValue(DataDir)));
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
