using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Vessel.Client;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Hosts.Channel;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// <c>vessel agent</c>: joins a manager with a join token (once), then keeps one stream open to
/// the manager's agent endpoint: a hello, then a heartbeat with the host's live capacity every
/// interval the manager asked for. When the manager is away it tries again with growing pauses
/// (up to <see cref="MaxRetryDelay"/>) and reconnects by itself; when the manager refuses it
/// (removed host, a certificate not its own) it stops with the manager's sentence.
/// </summary>
public sealed class HostAgentRunner(string dataDirectory, TextWriter log)
{
    private AgentVmms? _vmms;

    /// <summary>This host's VMMs, started in the agent's data directory with the vessel program the agent runs from.</summary>
    private AgentVmms Vmms => _vmms ??= CreateVmms();

    private AgentVmms CreateVmms()
    {
        (string program, string[] prefix) = Hosting.ServerOptions.FindVessel();
        // Migration streams to and from this host go over TLS with its host certificate.
        var tls = new MigrationTls(AgentIdentity.LoadCertificate(dataDirectory), AgentIdentity.LoadCa(dataDirectory));
        return new AgentVmms(new Hosting.ServerOptions { DataDirectory = dataDirectory, VesselProgram = program, VesselPrefixArguments = prefix }, tls, log);
    }

    /// <summary>The longest pause between two attempts to reach the manager (VESSEL_AGENT_RETRY_MAX_SECONDS changes it).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Enrols with the manager at <paramref name="managerUrl"/>: checks its HTTPS certificate
    /// against the token's pin before the token is sent, makes this host's key and a CSR, and
    /// keeps what the manager answers.
    /// </summary>
    public async Task<AgentIdentity> JoinAsync(Uri managerUrl, string tokenText, CancellationToken cancellationToken)
    {
        JoinToken token = JoinToken.Parse(tokenText)
            ?? throw new AgentException("The join token is not a Vessel join token; copy it exactly as vessel host add printed it.");
        string? shown = null;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    byte[] hash = SHA256.HashData(certificate.GetRawCertData());
                    shown = string.Join(':', Convert.ToHexString(hash).Chunk(2).Select(c => new string(c)));
                    return token.PinMatches(hash);
                },
            },
        };
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(System.Net.Dns.GetHostName());
        string csr = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        HostJoinResponse joined;
        using (var client = new VesselClient(handler, managerUrl, managerUrl.ToString()))
        {
            try
            {
                joined = await client.JoinHostAsync(new HostJoinRequest(token.ToString(), csr), cancellationToken);
            }
            catch (VesselApiException e)
            {
                throw new AgentException(e.Message);
            }
            catch (HttpRequestException e) when (shown is not null && e.InnerException is AuthenticationException)
            {
                throw new AgentException($"The server at {managerUrl.Authority} shows a certificate (SHA-256 {shown}) that is not the one in the join token; check the URL, or make a new token with vessel host add if the manager's certificate changed.");
            }
            catch (HttpRequestException e)
            {
                throw new AgentException($"Cannot reach the manager at {managerUrl.Authority} ({Sentences.Of(e.Message).TrimEnd('.')}).");
            }
        }

        var identity = new AgentIdentity(joined.HostId, joined.Name, joined.AgentEndpoint, managerUrl.ToString());
        identity.Save(dataDirectory, key.ExportPkcs8PrivateKeyPem(), joined.Certificate, joined.CaCertificate);
        log.WriteLine($"vessel: joined the manager at {managerUrl.Authority} as host {joined.Name} ({joined.HostId}); identity kept in {AgentIdentity.DirectoryOf(dataDirectory)}");
        return identity;
    }

    /// <summary>Runs until cancelled (0) or refused by the manager (an <see cref="AgentException"/> with its sentence).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        AgentIdentity identity = AgentIdentity.Load(dataDirectory);
        using X509Certificate2 certificate = AgentIdentity.LoadCertificate(dataDirectory);
        using X509Certificate2 ca = AgentIdentity.LoadCa(dataDirectory);
        TimeSpan delay = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            bool welcomed = false;
            try
            {
                await RunSessionAsync(identity, certificate, ca, () => welcomed = true, cancellationToken);
                log.WriteLine($"vessel: the manager at {identity.AgentEndpoint} ended the connection; connecting again");
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.InvalidArgument)
            {
                throw new AgentException(e.Status.Detail);
            }
            catch (Exception e) when (e is RpcException or HttpRequestException or IOException or AuthenticationException && !cancellationToken.IsCancellationRequested)
            {
                // gRPC's detail is its own ("Error connecting to subchannel"); the innermost cause says what happened (connection refused).
                Exception cause = e is RpcException { Status.DebugException: { } debug } ? debug : e;
                while (cause.InnerException is not null)
                {
                    cause = cause.InnerException;
                }

                string why = cause.Message;
                log.WriteLine($"vessel: cannot reach the manager at {identity.AgentEndpoint} ({Sentences.Of(why).TrimEnd('.')}); trying again in {delay.TotalSeconds:0.#} s");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (welcomed)
            {
                delay = TimeSpan.FromSeconds(1);
            }

            try
            {
                // A little jitter: many agents of one manager that came back must not knock at once.
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 250)), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private async Task RunSessionAsync(AgentIdentity identity, X509Certificate2 certificate, X509Certificate2 ca, Action welcomed, CancellationToken cancellationToken)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 server && IsManagerEndpoint(server, ca),
            },
            // A manager that vanished without closing (a cut cable, a frozen host) is noticed by pings.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
        };
        using GrpcChannel channel = GrpcChannel.ForAddress(identity.AgentEndpoint, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        var client = new HostAgent.HostAgentClient(channel);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using AsyncDuplexStreamingCall<AgentMessage, ManagerMessage> call = client.Connect(cancellationToken: stop.Token);
        var hello = new Hello { HostId = identity.HostId.ToString("D"), AgentVersion = AgentVersion.Current, DataDir = Path.GetFullPath(dataDirectory) };
        hello.Vmms.AddRange(Vmms.Running());
        hello.Capacity = HostCapacity.Read(hello.Vmms.Count);
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello }, cancellationToken);
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.KindCase != ManagerMessage.KindOneofCase.Welcome)
        {
            throw new IOException("the manager closed the stream before it welcomed the agent");
        }

        Welcome welcome = call.ResponseStream.Current.Welcome;
        welcomed();
        TimeSpan interval = TimeSpan.FromSeconds(Math.Clamp(welcome.HeartbeatSeconds, 0.2, 300));
        log.WriteLine($"vessel: connected to the manager at {identity.AgentEndpoint} as host {welcome.HostName}; a heartbeat every {interval.TotalSeconds:0.#} s");

        // The manager's direction: commands, each carried out on its own (a VMM start takes
        // seconds; a tunnel must not wait for it) and answered by id. Its end (the manager
        // stopped, or cut this host off) ends the session; the VMMs run on.
        using var writeGate = new SemaphoreSlim(1, 1);
        async Task SendAsync(AgentMessage message)
        {
            await writeGate.WaitAsync(stop.Token);
            try
            {
                await call.RequestStream.WriteAsync(message, stop.Token);
            }
            finally
            {
                writeGate.Release();
            }
        }

        Task reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(stop.Token))
            {
                if (call.ResponseStream.Current.Command is { } command)
                {
                    _ = Task.Run(async () =>
                    {
                        CommandResult result = await Vmms.ExecuteAsync(command, client, stop.Token);
                        try
                        {
                            await SendAsync(new AgentMessage { Result = result });
                        }
                        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
                        {
                            // The session ended; the manager fails the command on its side.
                        }
                    }, CancellationToken.None);
                }
            }
        }, CancellationToken.None);
        using var timer = new PeriodicTimer(interval);
        while (true)
        {
            Task tick = timer.WaitForNextTickAsync(stop.Token).AsTask();
            if (await Task.WhenAny(tick, reading) == reading)
            {
                await stop.CancelAsync();
                await reading;
                return;
            }

            await tick;
            var heartbeat = new Heartbeat();
            heartbeat.Vmms.AddRange(Vmms.Running());
            heartbeat.Capacity = HostCapacity.Read(heartbeat.Vmms.Count);
            await SendAsync(new AgentMessage { Heartbeat = heartbeat });
        }
    }

    /// <summary>The agent endpoint's certificate: issued by the manager's CA (nothing else is trusted here), for the manager's endpoint.</summary>
    private static bool IsManagerEndpoint(X509Certificate2 server, X509Certificate2 ca) =>
        HostCertificateAuthority.ChainsTo(server, ca, DateTime.UtcNow)
        && HostCertificateAuthority.UrisOf(server).Contains(HostCertificateAuthority.ManagerUri);
}
