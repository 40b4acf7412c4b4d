namespace Vessel.Server.Access.Pam;

/// <summary>
/// The <c>pam</c> realm: the host's Linux users, checked through PAM's service <c>vessel</c>
/// when /etc/pam.d/vessel exists, else <c>login</c> (the same checks as a console login).
/// PAM may sleep on a wrong password (pam_faildelay), so the call runs off the request thread.
/// </summary>
public sealed class PamAuthenticator
{
    private const string PamDirectory = "/etc/pam.d";

    public static string Service => File.Exists(Path.Combine(PamDirectory, "vessel")) ? "vessel"
        : File.Exists(Path.Combine(PamDirectory, "login")) ? "login"
        : "common-auth";

    public Task<bool> AuthenticateAsync(string user, string password) =>
        Task.Run(() =>
        {
            try
            {
                return PamNative.Check(Service, user, password);
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        });
}
