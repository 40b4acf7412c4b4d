using Microsoft.AspNetCore.Identity;
using Vessel.Server.Api;

namespace Vessel.Server.Access;

/// <summary>
/// Password hashes of the vessel realm with ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>
/// (PBKDF2 with HMAC-SHA512 and a random salt, iterated; the hash names its own format, so a
/// later, stronger setting still verifies the old hashes and rehashes them at the next login).
/// </summary>
public static class Passwords
{
    public const int MinLength = 8;
    public const int MaxLength = 1024;

    private static readonly PasswordHasher<UserRecord> Hasher = new();

    public static string Check(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < MinLength)
        {
            throw ApiException.BadRequest($"A password has at least {MinLength} characters.");
        }

        if (password.Length > MaxLength)
        {
            throw ApiException.BadRequest($"A password has at most {MaxLength} characters.");
        }

        return password;
    }

    public static string Hash(UserRecord user, string password) => Hasher.HashPassword(user, password);

    /// <summary>Whether the password is the user's; rehashes it in <paramref name="user"/> when the stored hash is of an older setting.</summary>
    public static bool Verify(UserRecord user, string password)
    {
        if (user.PasswordHash is null)
        {
            return false;
        }

        PasswordVerificationResult result = Hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = Hash(user, password);
        }

        return result != PasswordVerificationResult.Failed;
    }

    /// <summary>Spends the time of a verification when there is no user, so that timing does not tell which names exist.</summary>
    public static void VerifyNobody(string password) => Verify(Nobody, password);

    private static readonly UserRecord Nobody = new() { Name = "nobody@vessel", Realm = AccessNames.VesselRealm, PasswordHash = Hasher.HashPassword(null!, "not a password anyone has") };
}
