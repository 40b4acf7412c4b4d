namespace Vessel.Server.Access;

/// <summary>
/// Endpoint metadata: the privilege (<c>VM.PowerMgmt</c>, <c>Sys.Audit</c>, ...) a caller needs on
/// an ACL path to use the endpoint. <paramref name="Path"/> is a template whose <c>{name}</c>
/// parts are the request's route values (<c>/vms/{vm}</c>). Endpoints declare it; the access
/// control middleware enforces it, so that no endpoint is reachable without a declared rule.
/// </summary>
public sealed record RequiredPrivilege(string Privilege, string Path = "/");

/// <summary>Declares an endpoint's privilege.</summary>
public static class RequiredPrivilegeExtensions
{
    public static TBuilder RequirePrivilege<TBuilder>(this TBuilder builder, string privilege, string path = "/")
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RequiredPrivilege(privilege, path));
}
