using System.CommandLine;
using Vessel.Storage;
using Vessel.Storage.Operations;
using Vessel.Storage.Qcow2;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img convert [-f FMT] [-O FMT] [-B BACKING [-F FMT]] [-S SIZE] [-l SNAPSHOT] [-n [--target-is-zero]] [-c] [-p] [-o OPTIONS] [-U] [-W] SRC DST</c>.</summary>
internal static class ImgConvertCommand
{
    public static Command Create()
    {
        var sourceFormat = new Option<string?>("-f") { Description = "Source format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var targetFormat = new Option<string>("-O") { Description = "Target format: raw or qcow2 (default raw)", HelpName = "FORMAT", DefaultValueFactory = _ => "raw" }.OneOf(ImgArguments.Formats);
        var compress = new Option<bool>("-c") { Description = "Compress the target's clusters (qcow2)" };
        var progress = new Option<bool>("-p") { Description = "Show progress" };
        var options = new Option<string[]>("-o") { Description = "Target options, as for create (-o help lists them)", HelpName = "OPTIONS" };
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Read the source even if another process has it open for writing" };
        var cache = new Option<string>("-t") { Description = "Target cache mode: unsafe (default, as qemu-img: no final flush), or writeback/writethrough/none/directsync (flush before finishing)", HelpName = "CACHE", DefaultValueFactory = _ => "unsafe" }.OneOf("unsafe", "writeback", "writethrough", "none", "directsync");
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var backingFile = new Option<string?>("-B") { Description = "Create the qcow2 target on this backing file (relative to the target); only clusters that differ from it are written", HelpName = "BACKING" };
        var backingFormat = new Option<string?>("-F") { Description = "Format of the -B backing file (detected when omitted)", HelpName = "BACKING_FORMAT" }.OneOf(ImgArguments.Formats);
        var sparse = new Option<string?>("-S") { Description = "Shortest run of zero bytes left unwritten (default 4k); 0 allocates the whole target", HelpName = "SIZE" };
        var snapshot = new Option<string?>("-l") { Description = "Convert an internal snapshot: snapshot.name=NAME, snapshot.id=ID, or an ID or name", HelpName = "SNAPSHOT" };
        var noCreate = new Option<bool>("-n") { Description = "Write into an existing target instead of creating it" };
        var targetIsZero = new Option<bool>("--target-is-zero") { Description = "With -n: the target already reads as zeroes" };
        var outOfOrder = new Option<bool>("-W") { Description = "Allow out-of-order writes (accepted; Vessel writes in order)" };
        var source = new Argument<string>("SOURCE") { Description = "The image to read", HelpName = "SOURCE" };
        var target = new Argument<string>("TARGET") { Description = "The image to create", HelpName = "TARGET" };
        var command = new Command("convert", "Copy an image into a new one, of any format, optionally compressed.") { sourceFormat, targetFormat, compress, progress, options, forceShare, cache, quiet, backingFile, backingFormat, sparse, snapshot, noCreate, targetIsZero, outOfOrder, source, target };
        command.SetAction(result =>
        {
            ImageFormat format = ImgArguments.Format(result.GetValue(targetFormat)) ?? ImageFormat.Raw;
            Dictionary<string, string> parsed = ImgArguments.OptionList(result.GetValue(options) ?? []);
            var qcow2 = new Qcow2CreateOptions();
            if (format == ImageFormat.Qcow2)
            {
                qcow2 = ImgArguments.Qcow2Options(parsed, qcow2);
                if (qcow2.BackingFile is not null)
                {
                    throw UserErrorException.Usage("convert takes the target's backing file from -B, not from -o backing_file");
                }
            }
            else
            {
                ImgArguments.CheckRawOptions(parsed);
            }

            bool unsafeCache = result.GetValue(cache) switch
            {
                null or "unsafe" => true,
                "writeback" or "writethrough" or "none" or "directsync" => false,
                string other => throw UserErrorException.Usage($"-t must be unsafe, writeback, writethrough, none or directsync, not '{other}'"),
            };
            using ProgressBar? bar = result.GetValue(progress) && !result.GetValue(quiet) ? new ProgressBar() : null;
            ImageConverter.Convert(result.GetValue(source)!, result.GetValue(target)!, new ConvertOptions
            {
                SourceFormat = ImgArguments.Format(result.GetValue(sourceFormat)),
                TargetFormat = format,
                Compress = result.GetValue(compress),
                Qcow2 = qcow2,
                ForceShare = result.GetValue(forceShare),
                UnsafeCache = unsafeCache,
                BackingFile = result.GetValue(backingFile),
                BackingFormat = ImgArguments.Format(result.GetValue(backingFormat)),
                MinSparse = result.GetValue(sparse) is { } minSparse ? ImgArguments.Size(minSparse, "sparse size (-S)") : ConvertOptions.DefaultMinSparse,
                Snapshot = SnapshotName(result.GetValue(snapshot)),
                SkipCreate = result.GetValue(noCreate),
                TargetIsZero = result.GetValue(targetIsZero),
                Progress = bar?.Callback,
            });
            return 0;
        });
        return command;
    }

    /// <summary>qemu-img's -l forms: snapshot.name=NAME, snapshot.id=ID, or a bare ID or name.</summary>
    private static string? SnapshotName(string? text)
    {
        if (text is null)
        {
            return null;
        }

        foreach (string prefix in (ReadOnlySpan<string>)["snapshot.name=", "snapshot.id="])
        {
            if (text.StartsWith(prefix, StringComparison.Ordinal))
            {
                text = text[prefix.Length..];
                break;
            }
        }

        if (text.Length == 0 || text.Contains(','))
        {
            throw UserErrorException.Usage($"-l takes one snapshot as snapshot.name=NAME, snapshot.id=ID or NAME, not '{text}'");
        }

        return text;
    }
}
