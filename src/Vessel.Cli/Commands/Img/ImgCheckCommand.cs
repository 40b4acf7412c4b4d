using System.CommandLine;
using System.Globalization;
using System.Text;
using Vessel.Storage;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary>
/// <c>vessel img check [-f FMT] [-r leaks|all] [--output human|json] [-U] FILE</c>. Exit codes as
/// qemu-img: 0 clean, 1 check failed, 2 corruptions, 3 leaks, 63 format cannot be checked.
/// </summary>
internal static class ImgCheckCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var repair = new Option<string?>("-r") { Description = "Repair: leaks (free leaked clusters) or all (also fix corruptions)", HelpName = "leaks|all" }.OneOf("leaks", "all");
        var output = new Option<string>("--output") { Description = "human or json", HelpName = "human|json", DefaultValueFactory = _ => "human" }.OneOf("human", "json");
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Check even if another process has the image open for writing" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing (the exit code tells)" };
        var file = new Argument<string>("FILE") { Description = "The image", HelpName = "FILE" };
        var command = new Command("check", "Check an image's metadata for consistency and optionally repair it.") { format, repair, output, forceShare, quiet, file };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            bool json = ImgOutput.IsJson(result.GetValue(output));
            CheckRepair mode = result.GetValue(repair) switch
            {
                null => CheckRepair.None,
                "leaks" => CheckRepair.Leaks,
                "all" => CheckRepair.All,
                string other => throw UserErrorException.Usage($"-r takes leaks or all, not '{other}'"),
            };

            CheckResult check;
            try
            {
                check = ImageChecker.Check(path, ImgArguments.Format(result.GetValue(format)), mode, result.GetValue(forceShare));
            }
            catch (FormatNotCheckableException e)
            {
                Console.Error.WriteLine($"vessel: {e.Message}.");
                return 63;
            }
            catch (StorageException e)
            {
                Console.Error.WriteLine($"vessel: {e.Message.TrimEnd('.')}.");
                return 1;
            }

            if (!result.GetValue(quiet))
            {
                foreach (string message in check.Messages)
                {
                    Console.Error.WriteLine(message);
                }

                Console.Out.Write(json ? Json(check) : Human(check));
            }

            return check.ExitCode;
        });
        return command;
    }

    public static string Human(CheckResult check)
    {
        var text = new StringBuilder();
        if (check.CorruptionsFixed > 0 || check.LeaksFixed > 0)
        {
            text.Append($"The following inconsistencies were found and repaired:\n\n    {check.LeaksFixed} leaked clusters\n    {check.CorruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n");
        }

        if (check.IsClean)
        {
            text.Append("No errors were found on the image.\n");
        }
        else
        {
            if (check.Corruptions > 0)
            {
                text.Append($"\n{check.Corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n");
            }

            if (check.Leaks > 0)
            {
                text.Append($"\n{check.Leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n");
            }

            if (check.CheckErrors > 0)
            {
                text.Append($"\n{check.CheckErrors} internal errors have occurred during the check.\n");
            }
        }

        if (check.TotalClusters != 0 && check.AllocatedClusters != 0)
        {
            text.Append(string.Format(
                CultureInfo.InvariantCulture,
                "{0}/{1} = {2:0.00}% allocated, {3:0.00}% fragmented, {4:0.00}% compressed clusters\n",
                check.AllocatedClusters,
                check.TotalClusters,
                check.AllocatedClusters * 100.0 / check.TotalClusters,
                check.FragmentedClusters * 100.0 / check.AllocatedClusters,
                check.CompressedClusters * 100.0 / check.AllocatedClusters));
        }

        text.Append($"Image end offset: {check.ImageEndOffset}\n");
        return text.ToString();
    }

    private static string Json(CheckResult check) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("image-end-offset", check.ImageEndOffset);
        w.WriteNumber("total-clusters", check.TotalClusters);
        w.WriteNumber("check-errors", check.CheckErrors);
        WriteIfNonZero("leaks", check.Leaks);
        WriteIfNonZero("corruptions", check.Corruptions);
        WriteIfNonZero("leaks-fixed", check.LeaksFixed);
        WriteIfNonZero("corruptions-fixed", check.CorruptionsFixed);
        WriteIfNonZero("allocated-clusters", check.AllocatedClusters);
        WriteIfNonZero("fragmented-clusters", check.FragmentedClusters);
        WriteIfNonZero("compressed-clusters", check.CompressedClusters);
        w.WriteString("filename", check.Filename);
        w.WriteString("format", check.Format);
        w.WriteEndObject();

        void WriteIfNonZero(string name, long value)
        {
            if (value != 0)
            {
                w.WriteNumber(name, value);
            }
        }
    }) + "\n";
}
