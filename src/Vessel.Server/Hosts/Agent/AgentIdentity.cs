using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Vessel.Server.Hosts.Agent;

/// <summary>
/// What a joined agent keeps in DATA_DIR/agent (0700; every file 0600): its private key
/// (key.pem, made on the host and never sent), the certificate the manager issued for it
/// (cert.pem), the manager's CA (ca.pem, the only authority it trusts on the agent channel) and
/// agent.json (its host's id and name, the agent endpoint, the manager's URL).
/// </summary>
public sealed record AgentIdentity(Guid HostId, string HostName, string AgentEndpoint, string ManagerUrl)
{
    public const string DirectoryName = "agent";
    private const string StateFile = "agent.json";
    private const string KeyFile = "key.pem";
    private const string CertificateFile = "cert.pem";
    private const string CaFile = "ca.pem";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string DirectoryOf(string dataDirectory) => Path.Combine(dataDirectory, DirectoryName);

    public static bool Exists(string dataDirectory) => File.Exists(Path.Combine(DirectoryOf(dataDirectory), StateFile));

    /// <summary>Keeps a new identity, replacing any earlier one (a host that joins again).</summary>
    public void Save(string dataDirectory, string keyPem, string certificatePem, string caPem)
    {
        string directory = DirectoryOf(dataDirectory);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        HostCertificateAuthority.WritePrivate(Path.Combine(directory, KeyFile), keyPem);
        HostCertificateAuthority.WritePrivate(Path.Combine(directory, CertificateFile), certificatePem);
        HostCertificateAuthority.WritePrivate(Path.Combine(directory, CaFile), caPem);
        HostCertificateAuthority.WritePrivate(Path.Combine(directory, StateFile), JsonSerializer.Serialize(this, s_json));
    }

    /// <summary>Reads the identity; one sentence when it is missing or damaged.</summary>
    public static AgentIdentity Load(string dataDirectory)
    {
        string path = Path.Combine(DirectoryOf(dataDirectory), StateFile);
        if (!File.Exists(path))
        {
            throw new AgentException($"This host has not joined a manager (there is no {path}); join it with vessel agent --join URL --token TOKEN.");
        }

        try
        {
            return JsonSerializer.Deserialize<AgentIdentity>(File.ReadAllText(path), s_json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new AgentException($"The agent's state {path} is damaged ({e.Message.TrimEnd('.')}); join the host again with vessel agent --join.");
        }
    }

    /// <summary>The client certificate with its key, as TLS presents it.</summary>
    public static X509Certificate2 LoadCertificate(string dataDirectory)
    {
        string directory = DirectoryOf(dataDirectory);
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(Path.Combine(directory, CertificateFile), Path.Combine(directory, KeyFile));
            // The TLS layer needs the key in a form it can use for the handshake: a PKCS#12 round trip gives that.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new AgentException($"The agent's certificate in {directory} cannot be used ({e.Message.TrimEnd('.')}); join the host again with vessel agent --join.");
        }
    }

    public static X509Certificate2 LoadCa(string dataDirectory)
    {
        string path = Path.Combine(DirectoryOf(dataDirectory), CaFile);
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new AgentException($"The manager's CA {path} cannot be read ({e.Message.TrimEnd('.')}); join the host again with vessel agent --join.");
        }
    }
}

/// <summary>The agent cannot go on; the message is one sentence for the user.</summary>
public sealed class AgentException(string message) : Exception(message);
