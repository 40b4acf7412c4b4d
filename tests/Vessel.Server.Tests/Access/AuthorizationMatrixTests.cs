using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Access;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Access;

/// <summary>
/// The authorization matrix, generated from the model: every built-in role × every endpoint of
/// the real application that declares a privilege × the role inherited from <c>/</c>, given on
/// the endpoint's own path over a different inherited role, or taken away by <c>NoAccess</c> on
/// that path × a user (session), a group (session), a token without and with privilege
/// separation. The expected answer comes from the role's privilege list alone; every cell is a
/// real HTTP request. Requests that are allowed are built to fail after the check (a malformed
/// body, a stale If-Match, an object that is not there), so that the matrix changes nothing.
/// </summary>
public sealed class AuthorizationMatrixTests : IDisposable
{
    private const string Member = "matrix@vessel";
    private const string Group = "matrixgroup";
    private const string PlainToken = Member + "!plain";
    private const string SeparatedToken = Member + "!separated";

    private readonly AccessFactory _factory = new();

    private sealed record Cell(string Endpoint, string Role, string Scenario, string Subject, bool Expected, int Status, string Body);

    private enum Subject
    {
        User,
        Group,
        Token,
        SeparatedTokenOwnEntries,
        SeparatedTokenCappedByUser,
    }

    [Fact]
    public async Task EveryRoleOnEveryEndpointFamilyForEverySubjectAnswersAsTheRolesPrivilegesSay()
    {
        using HttpClient root = _factory.Root();
        OperationInfo created = await Http.WaitAsync(root, await root.PostAsJsonAsync("/api/v1/vms?wait=60", new { name = "m1", kernel = TestFiles.Kernel, nics = Array.Empty<object>() }));
        Assert.Equal(OperationStatuses.Succeeded, created.Status);
        Guid vmId = await _factory.WithInventoryAsync(db => db.Vms.Where(v => v.Name == "m1").Select(v => v.Id).SingleAsync());
        await _factory.AddUserAsync(Member, "matrix-password");
        Assert.Equal(HttpStatusCode.Created, (await root.PostAsJsonAsync("/api/v1/access/groups", new GroupCreateRequest(Group, Members: [Member]))).StatusCode);
        using HttpClient plain = _factory.Remote(await _factory.CreateTokenAsync(Member, "plain"));
        using HttpClient separated = _factory.Remote(await _factory.CreateTokenAsync(Member, "separated", privilegeSeparated: true));
        using HttpClient browser = _factory.Remote();
        Session session = (await Session.LoginAsync(browser, Member, "matrix-password")).Session!;

        var rules = EndpointRuleTests.EndpointsOf(_factory)
            .Select(e => (Endpoint: e, Rule: e.Metadata.GetMetadata<RequiredPrivilege>()))
            .Where(e => e.Rule is not null)
            .Select(e => (e.Endpoint, Rule: e.Rule!))
            .ToList();
        Assert.True(rules.Count > 30, $"only {rules.Count} endpoints declare a privilege");

        var cells = new List<Cell>();
        foreach (string role in BuiltInRoles.PrivilegesOf.Keys)
        {
            foreach (Subject subject in Enum.GetValues<Subject>())
            {
                foreach (string scenario in new[] { "inherited", "overridden", "noaccess" })
                {
                    // One ACL per (role, subject, scenario, ACL path); the endpoints sharing a path are asked together.
                    foreach (var byPath in rules.GroupBy(r => AclPathOf(r.Rule.Path, vmId)))
                    {
                        string path = byPath.Key;
                        if (scenario == "overridden" && path == "/")
                        {
                            continue;
                        }

                        await _factory.SetAclAsync(EntriesFor(subject, scenario, role, path).DistinctBy(e => (e.Path, e.SubjectKind, e.Subject, e.Role)).ToArray());
                        foreach ((RouteEndpoint endpoint, RequiredPrivilege rule) in byPath)
                        {
                            bool expected = scenario != "noaccess" && BuiltInRoles.PrivilegesOf[role].Contains(rule.Privilege);
                            HttpClient client = subject switch
                            {
                                Subject.User or Subject.Group => browser,
                                Subject.Token => plain,
                                _ => separated,
                            };
                            HttpRequestMessage request = RequestFor(endpoint, subject is Subject.User or Subject.Group ? session : null);
                            using HttpResponseMessage response = await client.SendAsync(request);
                            cells.Add(new Cell($"{request.Method} {endpoint.RoutePattern.RawText} ({rule.Privilege} on {rule.Path})", role, scenario, subject.ToString(), expected, (int)response.StatusCode, await response.Content.ReadAsStringAsync()));
                        }
                    }
                }
            }
        }

        // Allowed: past the permission check (a later 403 is the endpoint's own, such as the
        // console's ticket over the network), and nothing changed unless the endpoint only reads.
        var wrong = cells.Where(c => c.Expected
            ? c.Status is 401 or >= 500 || IsPermissionDenied(c) || (c.Status < 300 && !IsRead(c.Endpoint))
            : !IsPermissionDenied(c)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {cells.Count} cells differ:\n" + string.Join("\n", wrong.Take(40).Select(c =>
            $"{c.Role} {c.Scenario} {c.Subject}: {c.Endpoint} expected {(c.Expected ? "allowed" : "403")}, got {c.Status} {Short(c.Body)}")));
        // Both answers occur for every subject, so that no column is trivially all-allow or all-deny.
        foreach (var column in cells.GroupBy(c => c.Subject))
        {
            Assert.Contains(column, c => c.Expected);
            Assert.Contains(column, c => !c.Expected);
        }
    }

    private static bool IsPermissionDenied(Cell cell) => cell.Status == 403 && cell.Body.Contains("Permission denied", StringComparison.Ordinal);

    /// <summary>GETs, and the POST that verifies the audit log's chain (a POST so that the check itself is on record).</summary>
    private static bool IsRead(string endpoint) =>
        endpoint.StartsWith("GET", StringComparison.Ordinal) || endpoint.StartsWith("POST /api/v1/audit/verify ", StringComparison.Ordinal);

    private static string Short(string text) => text.Length <= 200 ? text : text[..200];

    private static string AclPathOf(string template, Guid vm) =>
        template.Replace("{vm}", vm.ToString(), StringComparison.Ordinal).Replace("{pool}", "default", StringComparison.Ordinal).Replace("{network}", "default", StringComparison.Ordinal)
            .Replace("{host}", "nosuch", StringComparison.Ordinal);

    private static IEnumerable<AclEntryRecord> EntriesFor(Subject subject, string scenario, string role, string path)
    {
        (string kind, string name) = subject switch
        {
            Subject.Group => ("group", Group),
            Subject.SeparatedTokenOwnEntries => ("token", SeparatedToken),
            _ => ("user", Member),
        };
        string other = role == BuiltInRoles.Administrator ? BuiltInRoles.NoAccess : BuiltInRoles.Administrator;
        IEnumerable<(string Path, string Role)> scenarioEntries = scenario switch
        {
            "inherited" => [("/", role)],
            "overridden" => [("/", other), (path, role)],
            _ => [("/", role), (path, BuiltInRoles.NoAccess)],
        };
        foreach ((string entryPath, string entryRole) in scenarioEntries)
        {
            yield return AccessFactory.Entry(entryPath, kind, name, entryRole);
        }

        // A separated token has at most its user's rights: here the other side is all-powerful,
        // so the scenario's side alone decides.
        if (subject == Subject.SeparatedTokenOwnEntries)
        {
            yield return AccessFactory.Entry("/", "user", Member, BuiltInRoles.Administrator);
        }
        else if (subject == Subject.SeparatedTokenCappedByUser)
        {
            yield return AccessFactory.Entry("/", "token", SeparatedToken, BuiltInRoles.Administrator);
        }
    }

    /// <summary>A request to the endpoint that, once allowed, fails before doing anything.</summary>
    private static HttpRequestMessage RequestFor(RouteEndpoint endpoint, Session? session)
    {
        string method = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods[0];
        string path = Regex.Replace(endpoint.RoutePattern.RawText!, @"\{(\w+)(:[^}]*)?\}", m => m.Groups[1].Value switch
        {
            "vm" => "m1",
            "pool" or "network" => "default",
            "id" => Guid.NewGuid().ToString(),
            "user" => "nosuch@vessel",
            _ => "nosuch",
        });
        if (path.EndsWith("/content", StringComparison.Ordinal))
        {
            path += "?format=bogus";
        }

        var request = session?.Request(new HttpMethod(method), path) ?? new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{", Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("If-Match", "\"999999\"");
        return request;
    }

    public void Dispose() => _factory.Dispose();
}
