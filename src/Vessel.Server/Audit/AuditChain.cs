using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Vessel.Server.Audit;

/// <summary>
/// The hash chain: each entry's hash is SHA-256 over a canonical encoding of its fields — a JSON
/// array, so that no choice of separators lets two different entries encode alike — ending with
/// the previous entry's hash. The first entry follows <see cref="Genesis"/>.
/// </summary>
public static class AuditChain
{
    /// <summary>What the first entry's previous hash is: 64 zeros.</summary>
    public static readonly string Genesis = new('0', 64);

    /// <summary>Times as hashed: UTC, to the tick, whatever kind the database hands back.</summary>
    public static string TimeText(DateTime time) =>
        DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static string HashOf(AuditEntryRecord entry)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            json.WriteNumberValue(entry.Sequence);
            json.WriteStringValue(TimeText(entry.Time));
            json.WriteStringValue(entry.User);
            json.WriteStringValue(entry.Source);
            json.WriteStringValue(entry.Action);
            json.WriteStringValue(entry.Object);
            json.WriteNumberValue(entry.Status);
            json.WriteStringValue(entry.Detail);
            json.WriteStringValue(entry.OperationId?.ToString("D"));
            json.WriteStringValue(entry.PreviousHash);
            json.WriteEndArray();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }
}
