using Vessel.Client.Contracts;

namespace Vessel.Client;

public sealed partial class VesselClient
{
    // ---- licence --------------------------------------------------------------------------

    /// <summary>
    /// The licence's warning from the last response that carried one (the daemon sends it from 30
    /// days before the licence or evaluation ends, and after); the CLI prints it on stderr.
    /// </summary>
    public string? LicenseWarning { get; private set; }

    public Task<LicenseInfo> GetLicenseAsync(CancellationToken cancellationToken = default) => GetAsync<LicenseInfo>("api/v1/license", cancellationToken);

    /// <summary>Installs a licence from the file's text, exactly as issued.</summary>
    public Task<LicenseInfo> InstallLicenseAsync(string licenseText, CancellationToken cancellationToken = default) =>
        SendForAsync<LicenseInfo>(HttpMethod.Put, "api/v1/license", new LicenseInstallRequest(licenseText), cancellationToken);

    public Task<LicenseInfo> RemoveLicenseAsync(CancellationToken cancellationToken = default) =>
        SendForAsync<LicenseInfo>(HttpMethod.Delete, "api/v1/license", null, cancellationToken);

    partial void OnResponse(HttpResponseMessage response)
    {
        // Warning: 299 vessel "sentence"
        foreach (string value in response.Headers.TryGetValues("Warning", out IEnumerable<string>? values) ? values : [])
        {
            int open = value.IndexOf('"');
            int close = value.LastIndexOf('"');
            if (value.StartsWith("299 vessel ", StringComparison.Ordinal) && open >= 0 && close > open)
            {
                LicenseWarning = value[(open + 1)..close];
            }
        }
    }
}
