using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Audit;

namespace Vessel.Server.Licensing;

/// <summary>
/// <c>/api/v1/license</c>: show, install and remove the licence; and the licence's warning (from
/// 30 days before the expiry) in a <c>Warning</c> header on every API response, for every client.
/// </summary>
public static class LicenseEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder license = api.MapGroup("/license").WithTags("Licence");
        license.MapGet("/", (LicenseGate gate) => gate.Status()).RequirePrivilege("Sys.Audit")
            .WithSummary("The licence (or the evaluation): licensee, edition, capacity, features, validity, warning");
        license.MapPut("/", async (LicenseInstallRequest request, LicenseGate gate, HttpContext http) =>
                await gate.InstallAsync(request.License ?? "", Caller.Name(http)))
            .RequirePrivilege("License.Manage", "/").WithAuditAction("license.install")
            .WithSummary("Install a licence (the file's text, as issued); a licence altered in any byte is refused");
        license.MapDelete("/", (LicenseGate gate) => gate.RemoveAsync())
            .RequirePrivilege("License.Manage", "/").WithAuditAction("license.remove")
            .WithSummary("Remove the licence: the host is back in its evaluation, which may have ended");
    }

    /// <summary>The header every API response carries while the licence warns (RFC 9110's Warning, code 299: a persistent warning).</summary>
    public static void UseLicenseWarning(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        if (http.Request.Path.StartsWithSegments("/api/v1"))
        {
            http.Response.OnStarting(() =>
            {
                if (http.RequestServices.GetRequiredService<LicenseGate>().Warning() is { } warning)
                {
                    http.Response.Headers.Append("Warning", $"299 vessel \"{warning.Replace("\"", "'", StringComparison.Ordinal)}\"");
                }

                return Task.CompletedTask;
            });
        }

        return next(http);
    });
}
