using System.CommandLine;
using Vessel.Storage;
using Vessel.Storage.Operations;
using Vessel.Storage.Qcow2;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img convert [-f FMT] [-O FMT] [-c] [-p] [-o OPTIONS] [-U] SRC DST</c>.</summary>
internal static class ImgConvertCommand
{
    public static Command Create()
    {
        var sourceFormat = new Option<string?>("-f") { Description = "Source format (detected when omitted)" };
        var targetFormat = new Option<string>("-O") { Description = "Target format: raw or qcow2 (default raw)", DefaultValueFactory = _ => "raw" };
        var compress = new Option<bool>("-c") { Description = "Compress the target's clusters (qcow2)" };
        var progress = new Option<bool>("-p") { Description = "Show progress" };
        var options = new Option<string[]>("-o") { Description = "Target options, as for create" };
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Read the source even if another process has it open for writing" };
        var cache = new Option<string>("-t") { Description = "Target cache mode: unsafe (default, as qemu-img: no final flush), or writeback/writethrough/none/directsync (flush before finishing)", DefaultValueFactory = _ => "unsafe" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var source = new Argument<string>("source") { Description = "The image to read" };
        var target = new Argument<string>("target") { Description = "The image to create" };
        var command = new Command("convert", "Copy an image into a new one, of any format, optionally compressed.") { sourceFormat, targetFormat, compress, progress, options, forceShare, cache, quiet, source, target };
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
                    throw new UserErrorException("convert does not create images with a backing file");
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
                string other => throw new UserErrorException($"-t must be unsafe, writeback, writethrough, none or directsync, not '{other}'"),
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
                Progress = bar?.Callback,
            });
            return 0;
        });
        return command;
    }
}
