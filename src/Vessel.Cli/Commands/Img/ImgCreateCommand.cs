using System.CommandLine;
using Vessel.Storage;
using Vessel.Storage.Operations;
using Vessel.Storage.Qcow2;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img create [-f qcow2|raw] [-b BACKING [-F FMT]] [-o OPTIONS] FILE [SIZE]</c>.</summary>
internal static class ImgCreateCommand
{
    public static Command Create()
    {
        var format = new Option<string>("-f") { Description = "Image format: qcow2 or raw (default raw, as qemu-img)", HelpName = "FORMAT", DefaultValueFactory = _ => "raw" }.OneOf(ImgArguments.Formats);
        var backing = new Option<string?>("-b") { Description = "Backing file (qcow2 only); relative names are relative to FILE's directory", HelpName = "BACKING" };
        var backingFormat = new Option<string?>("-F") { Description = "Format of the backing file (detected when omitted)", HelpName = "BACKING_FORMAT" }.OneOf(ImgArguments.Formats);
        var options = new Option<string[]>("-o") { Description = "Options: cluster_size, compat, compression_type, lazy_refcounts, refcount_bits, extended_l2, preallocation (-o help lists them)", HelpName = "OPTIONS", AllowMultipleArgumentsPerToken = false };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var file = new Argument<string>("FILE") { Description = "The image to create; an existing file is overwritten, as by qemu-img, unless a process has it open", HelpName = "FILE" };
        var size = new Argument<string?>("SIZE") { Description = "Virtual size with optional suffix k, M, G, T (may be omitted with -b)", HelpName = "SIZE", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("create", "Create a new disk image.") { format, backing, backingFormat, options, quiet, file, size };
        command.SetAction(result =>
        {
            string[] optionTexts = result.GetValue(options) ?? [];
            if (optionTexts.Any(o => o is "help" or "?"))
            {
                Console.Out.Write(ImgArguments.Qcow2OptionHelp);
                return 0;
            }

            string path = result.GetValue(file)!;
            ImageFormat imageFormat = ImgArguments.Format(result.GetValue(format)) ?? ImageFormat.Raw;
            Dictionary<string, string> parsed = ImgArguments.OptionList(optionTexts);
            string? sizeText = result.GetValue(size) ?? parsed.GetValueOrDefault("size");
            long? bytes = sizeText is null ? null : ImgArguments.Size(sizeText);
            var qcow2 = new Qcow2CreateOptions();
            if (imageFormat == ImageFormat.Raw)
            {
                ImgArguments.CheckRawOptions(parsed);
                if (result.GetValue(backing) is not null)
                {
                    throw UserErrorException.Usage("raw images cannot have a backing file; use -f qcow2");
                }
            }
            else
            {
                qcow2 = ImgArguments.Qcow2Options(parsed, qcow2);
                if (result.GetValue(backing) is { } backingFile)
                {
                    qcow2 = qcow2 with { BackingFile = backingFile };
                }

                if (result.GetValue(backingFormat) is { } backingFormatName)
                {
                    qcow2 = qcow2 with { BackingFormat = ImgArguments.Format(backingFormatName) };
                }
            }

            if (bytes is null && qcow2.BackingFile is null)
            {
                throw UserErrorException.Usage("a size is needed to create an image without a backing file");
            }

            if (!result.GetValue(quiet))
            {
                Console.Out.WriteLine(Describe(path, imageFormat, bytes, qcow2));
            }

            ImageCreator.Create(path, imageFormat, bytes, qcow2);
            return 0;
        });
        return command;
    }

    private static string Describe(string path, ImageFormat format, long? size, Qcow2CreateOptions o)
    {
        string sizeText = size is null ? string.Empty : $" size={(size.Value + 511) & ~511L}";
        if (format == ImageFormat.Raw)
        {
            return $"Formatting '{path}', fmt=raw{sizeText}";
        }

        string backing = o.BackingFile is null ? string.Empty : $" backing_file={o.BackingFile}" + (o.BackingFormat is { } f ? $" backing_fmt={ImageFormats.Name(f)}" : string.Empty);
        return $"Formatting '{path}', fmt=qcow2 cluster_size={o.ClusterSize} extended_l2={(o.ExtendedL2 ? "on" : "off")} compression_type={(o.Zstd ? "zstd" : "zlib")}{sizeText}{backing}{(o.Version == 2 ? " compat=0.10" : string.Empty)} lazy_refcounts={(o.LazyRefcounts ? "on" : "off")} refcount_bits={o.RefcountBits}";
    }
}
