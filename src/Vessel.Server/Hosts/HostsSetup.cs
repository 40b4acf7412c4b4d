namespace Vessel.Server.Hosts;

/// <summary>The hosts' services in the daemon: the CA, the registry and monitor of states, and the agent endpoint.</summary>
public static class HostsSetup
{
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<HostCertificateAuthority>();
        services.AddSingleton<HostRegistry>();
        services.AddSingleton<HostService>();
        services.AddSingleton<HostCommands>();
        services.AddSingleton<HostMaintenanceService>();
        services.AddHostedService<HostMonitor>();
        services.AddSingleton<AgentEndpoint>();
        services.AddHostedService(s => s.GetRequiredService<AgentEndpoint>());
    }
}
