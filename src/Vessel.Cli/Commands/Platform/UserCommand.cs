using System.CommandLine;
using Vessel.Client.Contracts;

namespace Vessel.Cli.Commands.Platform;

/// <summary><c>vessel user add|list|passwd|delete|disable|enable</c>: the daemon's users (realm vessel or pam).</summary>
internal static class UserCommand
{
    public static Command Create() => ClientCommand.Group("user", "Add, list, change the password of, disable, enable and delete users (name@vessel or name@pam).",
        Add(), List(), Passwd(), Delete(), SetEnabled("disable", false), SetEnabled("enable", true));

    private static readonly Option<string?> PasswordFile = new("--password-file")
    {
        Description = "Read the password from this file (else from standard input when it is not a terminal, else it is asked for)",
        HelpName = "FILE",
    };

    private static Command Add()
    {
        var name = new Argument<string>("USER") { Description = "The user, name@vessel (the default realm) or name@pam (a user of the host)" };
        var comment = new Option<string?>("--comment") { Description = "A comment", HelpName = "TEXT" };
        var expires = new Option<string?>("--expires") { Description = "When the account expires: a date (2027-01-31) or a time from now (30d, 12h)", HelpName = "WHEN" };
        var groups = new Option<string[]>("--group") { Description = "A group the user joins (repeat for more)", HelpName = "GROUP", AllowMultipleArgumentsPerToken = false };
        var command = new Command("add", "Add a user; a vessel user is asked for a password") { name, comment, expires, groups, PasswordFile };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string user = parseResult.GetValue(name)!;
            string? password = user.EndsWith("@pam", StringComparison.Ordinal) ? null : AccessInput.ReadPassword(parseResult.GetValue(PasswordFile), $"Password for {user}");
            UserInfo created = await client.CreateUserAsync(new UserCreateRequest(user, password, parseResult.GetValue(comment), AccessInput.ParseWhen("--expires", parseResult.GetValue(expires)),
                Groups: parseResult.GetValue(groups) is { Length: > 0 } g ? g : null), cancellationToken);
            Write(parseResult, created);
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List users");
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            IReadOnlyList<UserInfo> users = await client.ListUsersAsync(cancellationToken);
            if (ClientCommand.Json(parseResult))
            {
                ClientCommand.WriteJson(users);
                return 0;
            }

            Table.Write(["USER", "ENABLED", "EXPIRES", "GROUPS", "COMMENT"], users.Select(u => (IReadOnlyList<string>)
                [u.Name, u.Enabled ? "yes" : "no", u.ExpiresAt?.ToString("u") ?? "never", string.Join(",", u.Groups), u.Comment]));
            return 0;
        });
        return command;
    }

    private static Command Passwd()
    {
        var name = new Argument<string>("USER") { Description = "The user whose password changes" };
        var old = new Option<string?>("--old-password-file") { Description = "The current password, for changing one's own without User.Modify", HelpName = "FILE" };
        var command = new Command("passwd", "Change a vessel user's password") { name, PasswordFile, old };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            string user = parseResult.GetValue(name)!;
            string? oldPassword = parseResult.GetValue(old) is { } oldFile ? AccessInput.ReadPassword(oldFile, "") : null;
            string password = AccessInput.ReadPassword(parseResult.GetValue(PasswordFile), $"New password for {user}");
            await client.ChangePasswordAsync(user, new PasswordChangeRequest(password, oldPassword), cancellationToken);
            Console.Error.WriteLine($"vessel: the password of {user} changed; its sessions are closed");
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("USER") { Description = "The user" };
        var command = new Command("delete", "Delete a user with its tokens, sessions and permissions") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            await client.DeleteUserAsync(parseResult.GetValue(name)!, cancellationToken);
            return 0;
        });
        return command;
    }

    private static Command SetEnabled(string verb, bool enabled)
    {
        var name = new Argument<string>("USER") { Description = "The user" };
        var command = new Command(verb, enabled ? "Let a disabled user log in again" : "Stop a user: its sessions end, its tokens stop working") { name };
        command.SetClientAction(async (parseResult, client, cancellationToken) =>
        {
            Write(parseResult, await client.EditUserAsync(parseResult.GetValue(name)!, new UserEditRequest(Enabled: enabled), cancellationToken));
            return 0;
        });
        return command;
    }

    private static void Write(ParseResult parseResult, UserInfo user)
    {
        if (ClientCommand.Json(parseResult))
        {
            ClientCommand.WriteJson(user);
        }
        else
        {
            Console.Out.WriteLine($"user {user.Name} ({(user.Enabled ? "enabled" : "disabled")}{(user.ExpiresAt is { } e ? $", expires {e:u}" : "")})");
        }
    }
}

/// <summary>Reading passwords and times for the access commands.</summary>
internal static class AccessInput
{
    /// <summary>A password from a file, else the first line of a redirected standard input, else asked twice on the terminal without echo.</summary>
    public static string ReadPassword(string? file, string prompt)
    {
        if (file is not null)
        {
            try
            {
                return File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw UserErrorException.Failure($"cannot read the password from {file} ({e.Message.TrimEnd('.')})");
            }
        }

        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine() ?? throw UserErrorException.Usage("standard input ended before a password");
        }

        string first = Ask(prompt + ": ");
        if (Ask("Again: ") != first)
        {
            throw UserErrorException.Usage("the two passwords differ");
        }

        return first;
    }

    private static string Ask(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new System.Text.StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                text.Length = Math.Max(0, text.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }

    /// <summary>A time given as a date (2027-01-31, or a full ISO 8601 time) or as a span from now (30d, 12h, 45m).</summary>
    public static DateTime? ParseWhen(string option, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (text.Length >= 2 && int.TryParse(text[..^1], out int amount) && amount > 0)
        {
            TimeSpan? span = char.ToLowerInvariant(text[^1]) switch
            {
                'd' => TimeSpan.FromDays(amount),
                'h' => TimeSpan.FromHours(amount),
                'm' => TimeSpan.FromMinutes(amount),
                _ => null,
            };
            if (span is { } s)
            {
                return DateTime.UtcNow + s;
            }
        }

        return DateTime.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out DateTime when)
            ? when
            : throw UserErrorException.Usage($"{option} '{text}' is neither a date (2027-01-31) nor a time from now (30d, 12h, 45m)");
    }
}
