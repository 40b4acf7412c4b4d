using System.CommandLine;
using System.Globalization;
using Vessel.Client;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel audit list|export|verify</c>: the daemon's audit log.</summary>
internal static class AuditCommand
{
    private static readonly Option<string?> s_user = new("--user") { Description = "Only entries of this caller (user@realm, user@realm!token)", HelpName = "USER" };
    private static readonly Option<string?> s_action = new("--action") { Description = "Only this action (vm.start), or a family of them (vm)", HelpName = "ACTION" };
    private static readonly Option<string?> s_object = new("--object") { Description = "Only entries whose object contains this (vm:web1)", HelpName = "TEXT" };
    private static readonly Option<string?> s_result = new("--result") { Description = "success, failure, or an HTTP status", HelpName = "RESULT" };
    private static readonly Option<string?> s_since = new("--since") { Description = "From this time on (a date, or a date and time; UTC)", HelpName = "TIME" };
    private static readonly Option<string?> s_until = new("--until") { Description = "Before this time (a date, or a date and time; UTC)", HelpName = "TIME" };

    public static Command Create()
    {
        // Not ClientCommand.Group: export's -o names a file, so --output (-o) is only on list and verify.
        var group = new Command("audit", "List, export and verify the audit log: every change and login, hash-chained.") { ClientCommand.DataDir };
        group.Subcommands.Add(List());
        group.Subcommands.Add(Export());
        group.Subcommands.Add(Verify());
        return group;
    }

    private static Command List()
    {
        var limit = new Option<int>("--limit") { Description = "At most this many entries, newest first", HelpName = "N", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List audit entries, newest first") { s_user, s_action, s_object, s_result, s_since, s_until, limit, ClientCommand.Output };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Page<AuditEntryInfo> entries = await client.ListAuditAsync(QueryOf(parseResult), 1, parseResult.GetValue(limit), cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(entries);
                return 0;
            }

            Table.Write(["SEQ", "TIME (UTC)", "USER", "SOURCE", "ACTION", "OBJECT", "RESULT"], entries.Items.Select(e => (IReadOnlyList<string>)
            [
                e.Sequence.ToString(CultureInfo.InvariantCulture), e.Time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), Printable(e.User), e.Source, e.Action,
                Printable(e.Object), e.Detail is null ? e.Status.ToString(CultureInfo.InvariantCulture) : $"{e.Status} {Printable(e.Detail)}",
            ]));
            return 0;
        });
        return command;
    }

    private static Command Export()
    {
        var format = new Option<string>("--format") { Description = "csv or json", HelpName = "csv|json", Required = true }.OneOf("csv", "json");
        var file = new Option<string?>("--out", "-o") { Description = "Write to this file (default: standard output)", HelpName = "FILE" };
        var command = new Command("export", "Export the audit log, oldest first, as CSV or JSON") { format, file, s_user, s_action, s_object, s_result, s_since, s_until };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string? path = parseResult.GetValue(file);
            await using Stream destination = path is null ? Console.OpenStandardOutput() : new FileStream(path, FileMode.Create, FileAccess.Write);
            await client.ExportAuditAsync(parseResult.GetRequiredValue(format), QueryOf(parseResult), destination, cancellationToken);
            return 0;
        });
        return command;
    }

    private static Command Verify()
    {
        var command = new Command("verify", "Verify the audit log's hash chain: exit 0 when intact, 1 naming the first broken entry") { ClientCommand.Output };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            AuditVerification result = await client.VerifyAuditAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(result);
            }

            if (result.FirstBroken is { } broken)
            {
                throw UserErrorException.Failure($"The audit log is not intact: {char.ToLowerInvariant(broken.Reason[0])}{broken.Reason[1..]}");
            }

            if (!ClientCommand.Json(parseResult))
            {
                string from = result.CheckpointSequence > 0 ? $" after the retention checkpoint at entry {result.CheckpointSequence}" : "";
                Console.Out.WriteLine($"The audit log is intact: {result.Entries} entries{from}.");
            }

            return 0;
        });
        return command;
    }

    private static AuditQuery QueryOf(ParseResult parseResult) => new(
        parseResult.GetValue(s_user),
        parseResult.GetValue(s_action),
        parseResult.GetValue(s_object),
        parseResult.GetValue(s_result),
        TimeOf("--since", parseResult.GetValue(s_since)),
        TimeOf("--until", parseResult.GetValue(s_until)));

    private static DateTimeOffset? TimeOf(string option, string? text) => text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time)
            ? time
            : throw UserErrorException.Usage($"{option} '{text}' is not a time; write it like 2026-12-01 or 2026-12-01T08:00:00Z");

    /// <summary>Names are anyone's text (a failed login's): control characters are shown, not obeyed by the terminal.</summary>
    private static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
