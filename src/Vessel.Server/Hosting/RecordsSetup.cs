using Vessel.Server.Audit;
using Vessel.Server.Licensing;

namespace Vessel.Server.Hosting;

/// <summary>Registers the audit log and the licence gate with the daemon, in one place each.</summary>
public static class RecordsSetup
{
    public static void AddAuditAndLicensing(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        services.AddHostedService<AuditRetention>();
        services.AddSingleton(s => LicenseVerificationKey.From(s.GetRequiredService<IConfiguration>()));
        services.AddSingleton<LicenseGate>();
        services.AddHostedService(s => s.GetRequiredService<LicenseGate>());
    }

    /// <summary>Before the exception handler: the audit log records what the client was answered.</summary>
    public static void UseAuditAndLicenseWarning(this IApplicationBuilder app)
    {
        app.UseMiddleware<AuditMiddleware>();
        app.UseLicenseWarning();
    }

    public static void MapAuditAndLicense(RouteGroupBuilder api)
    {
        AuditEndpoints.Map(api);
        LicenseEndpoints.Map(api);
    }
}
