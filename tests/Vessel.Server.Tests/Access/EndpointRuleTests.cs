using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Vessel.Server.Access;

namespace Vessel.Server.Tests.Access;

/// <summary>Every endpoint of the real application declares who may call it; only the login, the API's description and an agent's join (its one-time token authorises it) are open.</summary>
public sealed class EndpointRuleTests : IDisposable
{
    private readonly AccessFactory _factory = new();

    internal static IReadOnlyList<RouteEndpoint> EndpointsOf(AccessFactory factory)
    {
        _ = factory.Server;
        return factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
    }

    [Fact]
    public void EveryEndpointDeclaresAPermissionRule()
    {
        IReadOnlyList<RouteEndpoint> endpoints = EndpointsOf(_factory);
        Assert.True(endpoints.Count > 40, $"only {endpoints.Count} endpoints found");
        var undeclared = endpoints.Where(e => e.Metadata.GetMetadata<RequiredPrivilege>() is null
            && e.Metadata.GetMetadata<AnyAuthenticatedCaller>() is null
            && e.Metadata.GetMetadata<IAllowAnonymous>() is null).Select(e => e.DisplayName).ToList();
        Assert.True(undeclared.Count == 0, "endpoints without a permission rule: " + string.Join("; ", undeclared));
    }

    [Fact]
    public void OnlyLoginLogoutTheApiDescriptionAndTheAgentsJoinAreAnonymous()
    {
        var anonymous = EndpointsOf(_factory).Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            .Select(e => e.RoutePattern.RawText!.TrimEnd('/')).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.All(anonymous, pattern => Assert.True(
            pattern is "/api/v1/access/login" or "/api/v1/access/logout" or "/api/v1/openapi.json" or "/api/v1/hosts/join" || pattern.StartsWith("/api/v1/docs", StringComparison.Ordinal),
            $"{pattern} is open to anyone"));
        Assert.Contains("/api/v1/access/login", anonymous);
    }

    [Fact]
    public void EveryDeclaredPrivilegeExistsAndEveryPathTemplateIsAnAclPath()
    {
        foreach (RouteEndpoint endpoint in EndpointsOf(_factory))
        {
            if (endpoint.Metadata.GetMetadata<RequiredPrivilege>() is not { } rule)
            {
                continue;
            }

            Assert.True(Privileges.Exists(rule.Privilege), $"{endpoint.DisplayName} needs '{rule.Privilege}', which is no privilege");
            string concrete = rule.Path.Replace("{vm}", "x").Replace("{pool}", "x").Replace("{network}", "x").Replace("{host}", "x");
            Assert.Equal(concrete, AccessNames.Path(concrete));
            foreach (string parameter in System.Text.RegularExpressions.Regex.Matches(rule.Path, @"\{(\w+)\}").Select(m => m.Groups[1].Value))
            {
                Assert.True(endpoint.RoutePattern.GetParameter(parameter) is not null, $"{endpoint.DisplayName}: {rule.Path} names {{{parameter}}}, which its route lacks");
            }
        }
    }

    public void Dispose() => _factory.Dispose();
}
