namespace Vessel.Client.Contracts;

/// <summary>
/// The HTTPS listener's certificate as <c>GET /api/v1/hosts/local/certificate</c> shows it.
/// <paramref name="Source"/> is <c>generated</c> (the daemon's own, self-signed), <c>replaced</c>
/// (given through the API or dropped into DATA_DIR/tls/) or <c>files</c> (<c>--tls-cert</c>).
/// </summary>
public sealed record CertificateInfo(
    string Subject,
    string Issuer,
    IReadOnlyList<string> Names,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    string FingerprintSha256,
    string Source,
    string Path);

/// <summary><c>PUT /api/v1/hosts/local/certificate</c>: a certificate (and any intermediates after it) and its private key, as PEM.</summary>
public sealed record CertificateReplaceRequest(string Certificate, string Key);

/// <summary>
/// The console kinds a ticket opens: <c>serial</c> (<c>GET /api/v1/vms/{vm}/console</c>) and
/// <c>vnc</c> (<c>GET /api/v1/vms/{vm}/vnc</c>, the screen of a VM with a display).
/// </summary>
public static class ConsoleKinds
{
    public const string Serial = "serial";
    public const string Vnc = "vnc";

    public static readonly IReadOnlyList<string> All = [Serial, Vnc];
}

/// <summary><c>POST /api/v1/vms/{vm}/console/ticket</c>.</summary>
public sealed record ConsoleTicketRequest(string? Kind);

/// <summary>A single-use ticket that opens one console of one VM for the caller who asked for it, until <paramref name="ExpiresAt"/>.</summary>
public sealed record ConsoleTicket(string Ticket, DateTimeOffset ExpiresAt);
