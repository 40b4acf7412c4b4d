using Microsoft.AspNetCore.Routing.Patterns;

namespace Vessel.Server.Audit;

/// <summary>Endpoint metadata: the audit log's name for what the endpoint does, where the one derived from its route would be unclear.</summary>
public sealed record AuditAction(string Name);

public static class AuditActionExtensions
{
    /// <summary>Names the endpoint's action in the audit log (<c>license.install</c>).</summary>
    public static TBuilder WithAuditAction<TBuilder>(this TBuilder builder, string name)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AuditAction(name));
}

/// <summary>
/// Names a request's action and object from its route: <c>POST /vms</c> is <c>vm.create</c>,
/// <c>POST /vms/{vm}/start</c> <c>vm.start</c>, <c>DELETE /vms/{vm}/snapshots/{snapshot}</c>
/// <c>snapshot.delete</c>; the object is the route's values in order (<c>vm:web1/snapshot:s1</c>).
/// </summary>
public static class AuditActions
{
    /// <summary>Where the derived name says less than it could.</summary>
    private static readonly Dictionary<string, string> s_clearer = new(StringComparer.Ordinal)
    {
        ["volume.content"] = "volume.upload",
        ["operation.delete"] = "operation.cancel",
        ["vm.template"] = "vm.make-template",
    };

    public static string NameOf(Endpoint? endpoint, string method, bool webSocket)
    {
        if (endpoint?.Metadata.GetMetadata<AuditAction>() is { } declared)
        {
            return declared.Name;
        }

        if (endpoint is not RouteEndpoint route)
        {
            return "request." + method.ToLowerInvariant();
        }

        List<(bool Parameter, string Text)> segments = SegmentsOf(route.RoutePattern);
        if (segments.Count == 0)
        {
            return "host." + method.ToLowerInvariant();
        }

        (bool lastIsParameter, string last) = segments[^1];
        string name;
        if (lastIsParameter)
        {
            // /vms/{vm}: the verb is the method's.
            string resource = Singular(LiteralBefore(segments, segments.Count - 1) ?? last);
            name = resource + "." + (webSocket ? "open" : VerbOf(method));
        }
        else if (IsCollection(last))
        {
            // /vms, /vms/{vm}/snapshots: POST creates one, a WebSocket on it follows it.
            name = Singular(last) + "." + (webSocket ? "open" : method == HttpMethods.Post ? "create" : VerbOf(method));
        }
        else
        {
            // /vms/{vm}/start, /access/login: the last word is the verb, on what comes before.
            string? resource = LiteralBefore(segments, segments.Count - 1);
            name = resource is null ? last + "." + VerbOf(method) : Singular(resource) + "." + last;
        }

        return s_clearer.GetValueOrDefault(name, name);
    }

    /// <summary>The route's values in the pattern's order: <c>vm:web1/snapshot:s1</c>.</summary>
    public static string ObjectOf(Endpoint? endpoint, RouteValueDictionary values)
    {
        if (endpoint is not RouteEndpoint route)
        {
            return "";
        }

        var parts = new List<string>();
        foreach (RoutePatternParameterPart parameter in route.RoutePattern.Parameters)
        {
            if (values.TryGetValue(parameter.Name, out object? value) && value?.ToString() is { Length: > 0 } text)
            {
                parts.Add($"{parameter.Name}:{text}");
            }
        }

        return string.Join('/', parts);
    }

    private static List<(bool Parameter, string Text)> SegmentsOf(RoutePattern pattern)
    {
        var segments = new List<(bool, string)>();
        foreach (RoutePatternPathSegment segment in pattern.PathSegments)
        {
            if (segment.Parts is [RoutePatternParameterPart parameter])
            {
                segments.Add((true, parameter.Name));
            }
            else
            {
                string text = string.Concat(segment.Parts.OfType<RoutePatternLiteralPart>().Select(p => p.Content));
                segments.Add((false, text));
            }
        }

        // Everything is under /api/v1: those two say nothing about the action.
        if (segments.Count >= 2 && segments[0] == (false, "api") && segments[1] == (false, "v1"))
        {
            segments.RemoveRange(0, 2);
        }

        return segments;
    }

    private static string? LiteralBefore(List<(bool Parameter, string Text)> segments, int index)
    {
        for (int i = index - 1; i >= 0; i--)
        {
            if (!segments[i].Parameter)
            {
                return segments[i].Text;
            }
        }

        return null;
    }

    private static bool IsCollection(string word) => word.Length > 2 && word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal);

    private static string Singular(string word) => IsCollection(word) ? word[..^1] : word;

    private static string VerbOf(string method) => method switch
    {
        "DELETE" => "delete",
        "PUT" or "PATCH" => "edit",
        "POST" => "post",
        _ => method.ToLowerInvariant(),
    };
}
