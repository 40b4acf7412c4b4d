using System.Text.Json.Nodes;
using Vessel.Client.Contracts;

namespace Vessel.Client;

/// <summary>Users, groups, roles, permissions and API tokens (<c>/api/v1/access</c>).</summary>
public sealed partial class VesselClient
{
    public Task<LoginResponse> LoginAsync(LoginRequest request, CancellationToken cancellationToken = default) => PostAsync<LoginResponse>("api/v1/access/login", request, cancellationToken);

    public Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<UserInfo>>("api/v1/access/users", cancellationToken);

    public Task<UserInfo> CreateUserAsync(UserCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<UserInfo>("api/v1/access/users", request, cancellationToken);

    public Task<UserInfo> EditUserAsync(string user, UserEditRequest request, CancellationToken cancellationToken = default) =>
        SendForAsync<UserInfo>(HttpMethod.Patch, $"api/v1/access/users/{Segment(user)}", request, cancellationToken);

    public Task DeleteUserAsync(string user, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/access/users/{Segment(user)}", null, cancellationToken);

    public Task ChangePasswordAsync(string user, PasswordChangeRequest request, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Put, $"api/v1/access/users/{Segment(user)}/password", request, cancellationToken);

    public Task<IReadOnlyList<GroupInfo>> ListGroupsAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<GroupInfo>>("api/v1/access/groups", cancellationToken);

    public Task<GroupInfo> CreateGroupAsync(GroupCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<GroupInfo>("api/v1/access/groups", request, cancellationToken);

    public Task<GroupInfo> EditGroupAsync(string group, GroupEditRequest request, CancellationToken cancellationToken = default) =>
        SendForAsync<GroupInfo>(HttpMethod.Patch, $"api/v1/access/groups/{Segment(group)}", request, cancellationToken);

    public Task DeleteGroupAsync(string group, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/access/groups/{Segment(group)}", null, cancellationToken);

    public Task<IReadOnlyList<RoleInfo>> ListRolesAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<RoleInfo>>("api/v1/access/roles", cancellationToken);

    public Task<RoleInfo> CreateRoleAsync(RoleCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<RoleInfo>("api/v1/access/roles", request, cancellationToken);

    public Task DeleteRoleAsync(string role, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/access/roles/{Segment(role)}", null, cancellationToken);

    public Task<IReadOnlyList<AclEntryInfo>> ListAclAsync(CancellationToken cancellationToken = default) => GetAsync<IReadOnlyList<AclEntryInfo>>("api/v1/access/acl", cancellationToken);

    public Task<AclEntryInfo> SetAclAsync(AclSetRequest request, CancellationToken cancellationToken = default) =>
        SendForAsync<AclEntryInfo>(HttpMethod.Put, "api/v1/access/acl", request, cancellationToken);

    public Task DeleteAclAsync(string path, string? role, string? user, string? group, string? token, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        AddQuery(query, "path", path);
        AddQuery(query, "role", role);
        AddQuery(query, "user", user);
        AddQuery(query, "group", group);
        AddQuery(query, "token", token);
        return SendForAsync<JsonNode>(HttpMethod.Delete, "api/v1/access/acl?" + string.Join('&', query), null, cancellationToken);
    }

    public Task<PermissionsInfo> GetPermissionsAsync(string path = "/", CancellationToken cancellationToken = default) =>
        GetAsync<PermissionsInfo>($"api/v1/access/permissions?path={Uri.EscapeDataString(path)}", cancellationToken);

    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? user = null, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<TokenInfo>>("api/v1/access/tokens" + (user is null ? "" : $"?user={Uri.EscapeDataString(user)}"), cancellationToken);

    public Task<TokenCreated> CreateTokenAsync(TokenCreateRequest request, CancellationToken cancellationToken = default) => PostAsync<TokenCreated>("api/v1/access/tokens", request, cancellationToken);

    public Task DeleteTokenAsync(string token, CancellationToken cancellationToken = default) =>
        SendForAsync<JsonNode>(HttpMethod.Delete, $"api/v1/access/tokens/{Segment(token)}", null, cancellationToken);
}
