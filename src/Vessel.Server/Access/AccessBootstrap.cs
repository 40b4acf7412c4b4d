using Vessel.Server.Hosting;
using Vessel.Server.Inventory;

namespace Vessel.Server.Access;

/// <summary>
/// The first start: with no user yet, creates <c>admin@vessel</c> with the Administrator role
/// on <c>/</c>, and a password from <c>--admin-password-file</c> or a random one that the
/// daemon prints once on stderr (it is stored only as its hash).
/// </summary>
public sealed class AccessBootstrap
{
    public const string AdminUser = "admin@vessel";

    /// <summary>The generated password, to print once; null when there was a user already or the password came from a file.</summary>
    public string? OneTimePassword { get; private set; }

    public void EnsureAdministrator(InventoryContext db, ServerOptions options, DateTime now)
    {
        if (db.Users.Any())
        {
            return;
        }

        string password;
        if (options.AdminPasswordFile is { } file)
        {
            try
            {
                password = File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ServerStartException($"cannot read the administrator's password from {file} ({e.Message.TrimEnd('.')})");
            }

            if (password.Length < Passwords.MinLength)
            {
                throw new ServerStartException($"the administrator's password in {file} is shorter than {Passwords.MinLength} characters");
            }
        }
        else
        {
            password = Secrets.NewRandom()[..24];
            OneTimePassword = password;
        }

        var admin = new UserRecord { Id = Guid.NewGuid(), Name = AdminUser, Realm = AccessNames.VesselRealm, Comment = "created at the first start", CreatedAt = now };
        admin.PasswordHash = Passwords.Hash(admin, password);
        db.Users.Add(admin);
        db.AclEntries.Add(new AclEntryRecord { Id = Guid.NewGuid(), Path = "/", SubjectKind = "user", Subject = AdminUser, Role = BuiltInRoles.Administrator });
        db.SaveChanges();
    }
}
