using System.Buffers.Text;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vessel.Client.Contracts;
using Vessel.Server.Hosts;
using Vessel.Server.Tests.Infrastructure;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// What a host agent may not do, against a real manager: join with a used, expired or forged
/// token (wrong secret, bad format, or a manager whose certificate is not the token's), present
/// another host's certificate, or one from another CA. Each is refused with one sentence, the
/// agent ends non-zero, and nothing is issued.
/// </summary>
public sealed class HostileAgentTests
{
    [Fact]
    public async Task UsedExpiredAndForgedJoinTokensAreRefusedWithOneSentenceAndIssueNothing()
    {
        using var temp = new TempDirectory();
        using Manager manager = await Manager.StartAsync(temp.File("manager"));

        // Used: the first join takes it; the second is refused.
        HostCreated first = await manager.AddHostAsync("used");
        using (AgentProcess agent = AgentProcess.Join(temp.File("first"), manager, first.JoinToken))
        {
            await manager.WaitForStateAsync("used", HostStates.Up, agent);
        }

        string fingerprint = (await manager.HostAsync("used")).CertificateFingerprint!;
        await AssertJoinRefusedAsync(manager, temp.File("second"), first.JoinToken, "was used already");
        Assert.Equal(fingerprint, (await manager.HostAsync("used")).CertificateFingerprint);

        // Expired: a token that lasted a second, tried later.
        HostCreated brief = await manager.AddHostAsync("brief", tokenLifetimeSeconds: 1);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await AssertJoinRefusedAsync(manager, temp.File("late"), brief.JoinToken, "expired");
        Assert.Null((await manager.HostAsync("brief")).CertificateFingerprint);

        // Forged: the right token id with a secret of the forger's own.
        HostCreated target = await manager.AddHostAsync("target");
        string[] parts = target.JoinToken.Split('.');
        string forged = string.Join('.', parts[0], parts[1], Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)), parts[3]);
        await AssertJoinRefusedAsync(manager, temp.File("forger"), forged, "not one this manager issued");

        // Not a token at all: refused by the agent before anything is sent.
        await AssertJoinRefusedAsync(manager, temp.File("garbage"), "vjt1.zz." + parts[2], "not a Vessel join token");

        // A token pinned to another certificate: the agent will not send it to this server.
        string otherPin = string.Join('.', parts[0], parts[1], parts[2], Base64Url.EncodeToString(SHA256.HashData("another manager"u8)));
        await AssertJoinRefusedAsync(manager, temp.File("wrong-manager"), otherPin, "not the one in the join token");

        // The genuine token still works after all that: the refusals did not spend it.
        HostInfo host = await manager.HostAsync("target");
        Assert.Equal(HostStates.Connecting, host.State);
        Assert.Null(host.CertificateFingerprint);
        using AgentProcess genuine = AgentProcess.Join(temp.File("genuine"), manager, target.JoinToken);
        await manager.WaitForStateAsync("target", HostStates.Up, genuine);

        // The manager itself answers the forged token with one sentence, 403.
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { BaseAddress = manager.Https };
        using HttpResponseMessage response = await http.PostAsJsonAsync("api/v1/hosts/join", new HostJoinRequest(forged, "not a request"));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
        Http.AssertOneSentence((await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>())!.Detail!);
    }

    [Fact]
    public async Task AnAgentPresentingAnotherHostsCertificateOrOneOfAnotherCaIsRefused()
    {
        using var temp = new TempDirectory();
        using Manager manager = await Manager.StartAsync(temp.File("manager"));
        string directoryA = temp.File("a");
        string directoryB = temp.File("b");
        foreach ((string name, string directory) in new[] { ("host-a", directoryA), ("host-b", directoryB) })
        {
            HostCreated added = await manager.AddHostAsync(name);
            using AgentProcess agent = AgentProcess.Join(directory, manager, added.JoinToken);
            await manager.WaitForStateAsync(name, HostStates.Up, agent);
        }

        // The genuine agents are gone: wait until the manager has noticed, so that "up" at the
        // end can only come from an impostor (a genuine connection stays up for three heartbeats).
        await manager.WaitForStateAsync("host-a", HostStates.Unreachable);
        await manager.WaitForStateAsync("host-b", HostStates.Unreachable);

        // A's agent with B's certificate and key: the hello says A, the certificate says B.
        string keptA = Path.Combine(directoryA, "agent");
        string keptB = Path.Combine(directoryB, "agent");
        foreach (string file in new[] { "cert.pem", "key.pem" })
        {
            File.Move(Path.Combine(keptA, file), temp.File("swap"));
            File.Move(Path.Combine(keptB, file), Path.Combine(keptA, file));
            File.Move(temp.File("swap"), Path.Combine(keptB, file));
        }

        using (AgentProcess impostor = AgentProcess.Start(directoryA))
        {
            (int exit, string last) = await impostor.WaitForExitAsync();
            Assert.NotEqual(0, exit);
            HostAgentTests.AssertRefusal(last, "presents the certificate of host");
        }

        Assert.Contains("Refused an agent from 127.0.0.1", manager.Serve.Log, StringComparison.Ordinal);
        AuditEntryInfo refusal = Assert.Single((await manager.Serve.Client.ListAuditAsync(new Vessel.Client.AuditQuery(Action: "host.refused"))).Items);
        Assert.Equal(403, refusal.Status);

        // A certificate for host A's id with the right name, from a CA of the attacker's making.
        Guid hostA = (await manager.HostAsync("host-a")).Id;
        (string certificate, string key) = IssueFromAnotherCa(hostA);
        File.WriteAllText(Path.Combine(keptA, "cert.pem"), certificate);
        File.WriteAllText(Path.Combine(keptA, "key.pem"), key);
        using (AgentProcess outsider = AgentProcess.Start(directoryA))
        {
            (int exit, string last) = await outsider.WaitForExitAsync();
            Assert.NotEqual(0, exit);
            HostAgentTests.AssertRefusal(last, "not issued by this manager's CA");
        }

        // Neither got host A up.
        Assert.NotEqual(HostStates.Up, (await manager.HostAsync("host-a")).State);
    }

    private static async Task AssertJoinRefusedAsync(Manager manager, string directory, string token, string contains)
    {
        using AgentProcess agent = AgentProcess.Join(directory, manager, token);
        (int exit, string last) = await agent.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        HostAgentTests.AssertRefusal(last, contains);
        Assert.False(Directory.Exists(Path.Combine(directory, "agent")), "a refused join kept an identity");
    }

    /// <summary>A host certificate as the manager would issue it, but signed by another CA.</summary>
    private static (string Certificate, string Key) IssueFromAnotherCa(Guid hostId)
    {
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Vessel host CA, O=Vessel", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=host-a, O=Vessel host", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(HostCertificateAuthority.HostUriPrefix + hostId.ToString("D")));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(16));
        return (issued.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
