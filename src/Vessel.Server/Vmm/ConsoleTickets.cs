using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Vessel.Client.Contracts;
using Vessel.Server.Api;
using Vessel.Server.Hosting;

namespace Vessel.Server.Vmm;

/// <summary>
/// Console tickets: what a browser (or any network client) shows to open a console WebSocket,
/// since a WebSocket upgrade from a browser carries no Authorization header and must not rely on
/// a cookie alone. A ticket is bound to the caller who asked, the VM's id and the console kind;
/// it is valid for <see cref="ServerOptions.ConsoleTicketLifetime"/> (30 s) and opens one
/// console once. It is an HMAC-SHA256 over those bindings with a key that lives in memory only:
/// a restart voids the tickets, which last seconds anyway.
/// </summary>
public sealed class ConsoleTickets(ServerOptions options, TimeProvider time)
{
    private const int NonceLength = 16;
    private const int MacLength = 32;
    private const int TicketLength = sizeof(long) + NonceLength + MacLength;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>Tickets already used, by nonce, until they expire (after that their time refuses them).</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new();

    /// <summary>A new ticket for <paramref name="caller"/> to open the <paramref name="kind"/> console of the VM <paramref name="vmId"/>.</summary>
    public ConsoleTicket Issue(string caller, string vmId, string kind)
    {
        DateTimeOffset expiresAt = time.GetUtcNow() + options.ConsoleTicketLifetime;
        byte[] ticket = new byte[TicketLength];
        BinaryPrimitives.WriteInt64BigEndian(ticket, expiresAt.ToUnixTimeMilliseconds());
        RandomNumberGenerator.Fill(ticket.AsSpan(sizeof(long), NonceLength));
        Mac(ticket.AsSpan(0, sizeof(long) + NonceLength), caller, vmId, kind, ticket.AsSpan(sizeof(long) + NonceLength));
        return new ConsoleTicket(Base64UrlEncode(ticket), DateTimeOffset.FromUnixTimeMilliseconds(expiresAt.ToUnixTimeMilliseconds()));
    }

    /// <summary>
    /// Uses up a ticket for <paramref name="caller"/>, the VM and the kind, or throws 403 with one
    /// sentence: missing, not this caller's (or VM's, or kind's), expired, or used before.
    /// </summary>
    public void Redeem(string? ticketText, string caller, string vmId, string vmName, string kind)
    {
        if (string.IsNullOrEmpty(ticketText))
        {
            throw Forbidden($"Over the network a console opens with a ticket: ask for one with POST /api/v1/vms/{vmName}/console/ticket and open the console with ?ticket=.");
        }

        byte[]? ticket = Base64UrlDecode(ticketText);
        Span<byte> expected = stackalloc byte[MacLength];
        if (ticket is not { Length: TicketLength })
        {
            throw Forbidden("The console ticket is not one this server issued; ask for a new one.");
        }

        Mac(ticket.AsSpan(0, sizeof(long) + NonceLength), caller, vmId, kind, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, ticket.AsSpan(sizeof(long) + NonceLength)))
        {
            throw Forbidden($"The console ticket was not issued to {caller} for the {kind} console of VM '{vmName}'; ask for a ticket of your own.");
        }

        DateTimeOffset expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(ticket));
        DateTimeOffset now = time.GetUtcNow();
        if (now >= expiresAt)
        {
            throw Forbidden($"The console ticket expired at {expiresAt:HH:mm:ss} UTC; ask for a new one just before opening the console.");
        }

        foreach ((string nonce, DateTimeOffset expiry) in _used)
        {
            if (expiry <= now)
            {
                _used.TryRemove(nonce, out _);
            }
        }

        if (!_used.TryAdd(Convert.ToHexString(ticket.AsSpan(sizeof(long), NonceLength)), expiresAt))
        {
            throw Forbidden("The console ticket was used already; a ticket opens one console once, so ask for a new one.");
        }
    }

    private void Mac(ReadOnlySpan<byte> expiryAndNonce, string caller, string vmId, string kind, Span<byte> mac)
    {
        // Lengths before each text: no two bindings serialise to the same bytes.
        byte[] bound = [.. LengthPrefixed(caller), .. LengthPrefixed(vmId), .. LengthPrefixed(kind), .. expiryAndNonce];
        HMACSHA256.HashData(_key, bound, mac);
    }

    private static byte[] LengthPrefixed(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        byte[] prefixed = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(prefixed, bytes.Length);
        bytes.CopyTo(prefixed, 4);
        return prefixed;
    }

    private static ApiException Forbidden(string detail) => new(StatusCodes.Status403Forbidden, detail);

    private static string Base64UrlEncode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static byte[]? Base64UrlDecode(string text)
    {
        if (text.Length > 128)
        {
            return null;
        }

        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
