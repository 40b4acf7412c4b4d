using Vessel.Client.Contracts;

namespace Vessel.Client;

public sealed partial class VesselClient
{
    // ---- audit log ------------------------------------------------------------------------

    /// <summary>The audit log's entries, newest first; filters left null are not applied.</summary>
    public Task<Page<AuditEntryInfo>> ListAuditAsync(AuditQuery query, int page = 1, int pageSize = 100, CancellationToken cancellationToken = default) =>
        GetAsync<Page<AuditEntryInfo>>($"api/v1/audit?page={page}&pageSize={pageSize}{query.ToQueryString()}", cancellationToken);

    /// <summary>Streams the export (<c>csv</c> or <c>json</c>) into <paramref name="destination"/>.</summary>
    public async Task ExportAuditAsync(string format, AuditQuery query, Stream destination, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, $"api/v1/audit/export?format={Uri.EscapeDataString(format)}{query.ToQueryString()}", null, null, cancellationToken);
        try
        {
            await response.Content.CopyToAsync(destination, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new VesselApiException(0, $"The audit export from {_where} ended early ({(e.InnerException ?? e).Message.TrimEnd('.')}); what was written is incomplete.");
        }
    }

    public Task<AuditVerification> VerifyAuditAsync(CancellationToken cancellationToken = default) =>
        PostAsync<AuditVerification>("api/v1/audit/verify", new { }, cancellationToken);

    public Task<AuditSettings> GetAuditSettingsAsync(CancellationToken cancellationToken = default) => GetAsync<AuditSettings>("api/v1/audit/settings", cancellationToken);

    public Task<AuditSettings> SetAuditSettingsAsync(AuditSettings settings, CancellationToken cancellationToken = default) =>
        SendForAsync<AuditSettings>(HttpMethod.Put, "api/v1/audit/settings", settings, cancellationToken);
}

/// <summary>Filters of the audit log's list and export.</summary>
public sealed record AuditQuery(string? User = null, string? Action = null, string? Object = null, string? Result = null, DateTimeOffset? From = null, DateTimeOffset? To = null)
{
    public string ToQueryString()
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add($"&{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("user", User);
        Add("action", Action);
        Add("object", Object);
        Add("result", Result);
        Add("from", From?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add("to", To?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return string.Concat(parts);
    }
}
