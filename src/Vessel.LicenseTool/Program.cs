using System.CommandLine;
using Vessel.LicenseTool;
using Vessel.Licensing;

// vessel-license: a mistake is one sentence on stderr; exit 2 for a wrong command line, 1 for a
// command that could not be carried out.
RootCommand root = LicenseToolCommand.Create();
ParseResult result = root.Parse(args);
if (result.Errors.Count > 0)
{
    Console.Error.WriteLine($"vessel-license: {result.Errors[0].Message}");
    return 2;
}

try
{
    return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (LicenseException e)
{
    Console.Error.WriteLine($"vessel-license: {e.Message}");
    return 1;
}
catch (UsageException e)
{
    Console.Error.WriteLine($"vessel-license: {e.Message}");
    return 2;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"vessel-license: {e.Message}");
    return 1;
}
