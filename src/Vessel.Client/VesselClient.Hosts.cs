using Vessel.Client.Contracts;

namespace Vessel.Client;

public sealed partial class VesselClient
{
    // ---- hosts ----------------------------------------------------------------------------

    public Task<IReadOnlyList<HostInfo>> ListHostsAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<HostInfo>>("api/v1/hosts", cancellationToken);

    /// <summary>A host by name or id; <c>local</c> is the manager's own.</summary>
    public Task<HostInfo> GetHostAsync(string host, CancellationToken cancellationToken = default) => GetAsync<HostInfo>($"api/v1/hosts/{Segment(host)}", cancellationToken);

    /// <summary>Adds a host to join: it is <c>connecting</c> until its agent joins with the token returned (once).</summary>
    public Task<HostCreated> AddHostAsync(HostCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<HostCreated>("api/v1/hosts", request, cancellationToken);

    /// <summary>Removes a host: its agent's certificate is refused from then on.</summary>
    public Task<HostInfo> RemoveHostAsync(string host, CancellationToken cancellationToken = default) =>
        SendForAsync<HostInfo>(HttpMethod.Delete, $"api/v1/hosts/{Segment(host)}", null, cancellationToken);

    /// <summary>Puts a host in maintenance: an operation that migrates its running VMs away.</summary>
    public Task<OperationInfo> EnterMaintenanceAsync(string host, CancellationToken cancellationToken = default) =>
        PostAsync<OperationInfo>($"api/v1/hosts/{Segment(host)}/maintenance", new { }, cancellationToken);

    /// <summary>Takes a host out of maintenance: it takes VMs again.</summary>
    public Task<HostInfo> ExitMaintenanceAsync(string host, CancellationToken cancellationToken = default) =>
        SendForAsync<HostInfo>(HttpMethod.Delete, $"api/v1/hosts/{Segment(host)}/maintenance", null, cancellationToken);

    /// <summary>An agent's enrolment (anonymous: the join token authorises it).</summary>
    public Task<HostJoinResponse> JoinHostAsync(HostJoinRequest request, CancellationToken cancellationToken = default) => PostAsync<HostJoinResponse>("api/v1/hosts/join", request, cancellationToken);
}
