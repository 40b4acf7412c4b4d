using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Vessel.Licensing;

namespace Vessel.LicenseTool;

/// <summary><c>vessel-license keygen</c> and <c>vessel-license issue</c>.</summary>
internal static class LicenseToolCommand
{
    public static RootCommand Create() =>
        new("vessel-license: the vendor's tool that makes signing keys and issues signed Vessel licences.")
        {
            Keygen(),
            Issue(),
        };

    private static Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "Writes PREFIX.pem (the private key, mode 0600: keep it off the product) and PREFIX.pub.pem (the public key the product carries)", HelpName = "PREFIX", Required = true };
        var command = new Command("keygen", "Make an ECDSA P-256 key pair for signing licences") { output };
        command.SetAction(parseResult =>
        {
            string prefix = parseResult.GetRequiredValue(output);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            string privatePath = prefix + ".pem";
            string publicPath = prefix + ".pub.pem";
            if (File.Exists(privatePath))
            {
                throw new UsageException($"{privatePath} exists already; a signing key is never overwritten.");
            }

            // Created with owner-only permissions before the key is written, never readable by others.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var writer = new StreamWriter(new FileStream(privatePath, options)))
            {
                writer.Write(key.ExportPkcs8PrivateKeyPem());
                writer.Write('\n');
            }

            File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
            Console.Out.WriteLine($"private key: {privatePath}");
            Console.Out.WriteLine($"public key:  {publicPath}");
            return 0;
        });
        return command;
    }

    private static Command Issue()
    {
        var key = new Option<string>("--key") { Description = "The private key (PEM) that signs", HelpName = "PRIVATE.pem", Required = true };
        var licensee = new Option<string>("--licensee") { Description = "Whom the licence is for", HelpName = "NAME", Required = true };
        var edition = new Option<string>("--edition") { Description = "The edition's name (standard, enterprise, ...)", HelpName = "NAME", Required = true };
        var hosts = new Option<int?>("--hosts") { Description = "At most this many hosts (unlimited when left out)", HelpName = "N" };
        var sockets = new Option<int?>("--sockets") { Description = "At most this many CPU sockets over all hosts", HelpName = "N" };
        var vcpus = new Option<int?>("--vcpus") { Description = "At most this many vCPUs of running VMs together", HelpName = "N" };
        var runningVms = new Option<int?>("--running-vms") { Description = "At most this many VMs running at once", HelpName = "N" };
        var features = new Option<string?>("--features") { Description = $"The edition's features, comma-separated ({string.Join(", ", LicenseFeatures.All)})", HelpName = "A,B" };
        var notBefore = new Option<string?>("--not-before") { Description = "Valid from (a date or a date and time, UTC; default now)", HelpName = "DATE" };
        var notAfter = new Option<string>("--not-after") { Description = "Valid until (a date or a date and time, UTC)", HelpName = "DATE", Required = true };
        var id = new Option<string?>("--id") { Description = "The licence's id (default: a new one)", HelpName = "ID" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the licence here (default: standard output)", HelpName = "FILE" };
        var command = new Command("issue", "Sign a licence") { key, licensee, edition, hosts, sockets, vcpus, runningVms, features, notBefore, notAfter, id, output };
        command.SetAction(parseResult =>
        {
            var license = new License
            {
                Id = parseResult.GetValue(id) ?? Guid.NewGuid().ToString(),
                Licensee = parseResult.GetRequiredValue(licensee),
                Edition = parseResult.GetRequiredValue(edition),
                Capacity = new LicenseCapacity
                {
                    Hosts = Positive("--hosts", parseResult.GetValue(hosts)),
                    Sockets = Positive("--sockets", parseResult.GetValue(sockets)),
                    Vcpus = Positive("--vcpus", parseResult.GetValue(vcpus)),
                    RunningVms = Positive("--running-vms", parseResult.GetValue(runningVms)),
                },
                Features = FeaturesOf(parseResult.GetValue(features)),
                NotBefore = parseResult.GetValue(notBefore) is { } from ? DateOf("--not-before", from) : DateTimeOffset.UtcNow,
                NotAfter = DateOf("--not-after", parseResult.GetRequiredValue(notAfter)),
            };
            if (license.NotAfter <= license.NotBefore)
            {
                throw new UsageException($"--not-after ({license.NotAfter:yyyy-MM-dd HH:mm}) must come after --not-before ({license.NotBefore:yyyy-MM-dd HH:mm}).");
            }

            using ECDsa signer = LicenseDocument.KeyFromPem(File.ReadAllText(parseResult.GetRequiredValue(key)), "signing key");
            string text = LicenseDocument.Sign(license, signer);
            if (parseResult.GetValue(output) is { } path)
            {
                File.WriteAllText(path, text);
                Console.Error.WriteLine($"licence {license.Id} for {license.Licensee} ({license.Edition}) written to {path}");
            }
            else
            {
                Console.Out.Write(text);
            }

            return 0;
        });
        return command;
    }

    private static int? Positive(string option, int? value) =>
        value is <= 0 ? throw new UsageException($"{option} is a number of at least 1, not {value}.") : value;

    private static string[] FeaturesOf(string? text)
    {
        string[] features = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string feature in features)
        {
            if (!LicenseFeatures.All.Contains(feature))
            {
                throw new UsageException($"'{feature}' is not a feature Vessel knows; the features are {string.Join(", ", LicenseFeatures.All)}.");
            }
        }

        return features.Distinct().ToArray();
    }

    private static DateTimeOffset DateOf(string option, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset date)
            ? date
            : throw new UsageException($"{option} '{text}' is not a date; write it like 2027-12-31 or 2027-12-31T23:59:59Z.");
}

/// <summary>The command line is wrong; the message is one sentence.</summary>
internal sealed class UsageException(string message) : Exception(message);
