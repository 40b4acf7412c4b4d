using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Hosting;

namespace Vessel.Server.Api;

/// <summary>
/// <c>/api/v1/hosts/local/certificate</c>: the HTTPS listener's certificate, shown (subject,
/// names, validity, SHA-256 fingerprint) and replaced with PEM texts, used from the next
/// connection on without a restart.
/// </summary>
public static class CertificateEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        RouteGroupBuilder host = api.MapGroup("/hosts/local").WithTags("Host");
        host.MapGet("/certificate", (ServerCertificates certificates) => certificates.Describe())
            .WithSummary("The HTTPS listener's certificate: subject, names, validity, SHA-256 fingerprint")
            .RequirePrivilege("Sys.Audit", "/hosts/local");
        host.MapPut("/certificate", (CertificateReplaceRequest request, ServerCertificates certificates) => certificates.Replace(request.Certificate, request.Key))
            .WithSummary("Replace the HTTPS certificate with a PEM certificate and its key (checked; new connections use it at once)")
            .RequirePrivilege("Sys.Modify", "/hosts/local");
    }
}
