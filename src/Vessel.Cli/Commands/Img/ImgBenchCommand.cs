using System.CommandLine;
using System.Globalization;
using Vessel.Storage;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary>
/// <c>vessel img bench [-c COUNT] [-d DEPTH] [-f FMT] [-o OFFSET] [-q] [-s SIZE] [-S STEP] [-t CACHE|read|write] [-w] [--pattern=N] [--flush-interval=N] [--no-drain] FILE</c>:
/// qemu-img bench's workload and output, so the two block layers can be timed side by side.
/// </summary>
internal static class ImgBenchCommand
{
    public static Command Create()
    {
        var count = new Option<int>("-c") { Description = "Number of requests (default 75000)", HelpName = "COUNT", DefaultValueFactory = _ => 75000 };
        var depth = new Option<int>("-d") { Description = "Requests in flight (reported; Vessel issues them one at a time)", HelpName = "DEPTH", DefaultValueFactory = _ => 64 };
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var offset = new Option<string?>("-o") { Description = "Offset of the first request", HelpName = "OFFSET" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var size = new Option<string?>("-s") { Description = "Request size (default 4k)", HelpName = "SIZE" };
        var step = new Option<string?>("-S") { Description = "Distance between request starts (default: the request size)", HelpName = "STEP" };
        var type = new Option<string?>("-t") { Description = "read or write, or a qemu-img cache mode (none, writeback, ...; Vessel always uses the host page cache)", HelpName = "read|write|CACHE" }.OneOf("read", "write", "none", "writeback", "writethrough", "directsync", "unsafe");
        var write = new Option<bool>("-w") { Description = "Write instead of read" };
        var noBufferedAio = new Option<bool>("-n") { Description = "Accepted for qemu-img compatibility (native AIO); ignored" };
        var aio = new Option<string?>("-i") { Description = "Accepted for qemu-img compatibility (AIO engine); ignored", HelpName = "AIO" };
        var pattern = new Option<int>("--pattern") { Description = "Byte written by write requests (default 0)", HelpName = "BYTE" };
        var flushInterval = new Option<int>("--flush-interval") { Description = "Flush after every N write requests", HelpName = "N" };
        var noDrain = new Option<bool>("--no-drain") { Description = "Do not flush at the end" };
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Read the image even if another process has it open for writing" };
        var file = new Argument<string>("FILE") { Description = "The image", HelpName = "FILE" };
        var command = new Command("bench", "Time a series of read or write requests on an image, like qemu-img bench.")
        {
            count, depth, format, offset, quiet, size, step, type, write, noBufferedAio, aio, pattern, flushInterval, noDrain, forceShare, file,
        };
        command.SetAction(result =>
        {
            bool writing = result.GetValue(write);
            switch (result.GetValue(type))
            {
                case null or "none" or "writeback" or "writethrough" or "directsync" or "unsafe":
                    break;
                case "read":
                    writing = false;
                    break;
                case "write":
                    writing = true;
                    break;
                case string other:
                    throw UserErrorException.Usage($"-t must be read, write or a cache mode, not '{other}'");
            }

            if (result.GetValue(count) <= 0 || result.GetValue(depth) <= 0)
            {
                throw UserErrorException.Usage($"-c and -d take numbers above 0, not {Math.Min(result.GetValue(count), result.GetValue(depth))}");
            }

            if (writing && result.GetValue(forceShare))
            {
                throw UserErrorException.Usage("-U reads without a lock, so it cannot go with write requests");
            }

            int bufferSize = (int)Math.Min(int.MaxValue, ImgArguments.Size(result.GetValue(size) ?? "4096", "request size"));
            var options = new BenchOptions
            {
                Format = ImgArguments.Format(result.GetValue(format)),
                Write = writing,
                Count = result.GetValue(count),
                Depth = result.GetValue(depth),
                BufferSize = bufferSize,
                Offset = result.GetValue(offset) is { } o ? ImgArguments.Size(o, "offset") : 0,
                Step = result.GetValue(step) is { } s ? ImgArguments.Size(s, "step") : null,
                Pattern = result.GetValue(pattern) is >= 0 and <= 255 and int p ? (byte)p : throw UserErrorException.Usage($"--pattern takes a byte value from 0 to 255, not {result.GetValue(pattern)}"),
                FlushInterval = result.GetValue(flushInterval),
                NoDrain = result.GetValue(noDrain),
                ForceShare = result.GetValue(forceShare),
            };
            bool silent = result.GetValue(quiet);
            if (!silent)
            {
                Console.Out.WriteLine($"Sending {options.Count} {(writing ? "write" : "read")} requests, {bufferSize} bytes each, {options.Depth} in parallel (starting at offset {options.Offset}, step size {options.Step ?? bufferSize})");
                if (options.FlushInterval > 0)
                {
                    Console.Out.WriteLine($"Sending flush every {options.FlushInterval} requests");
                }
            }

            TimeSpan elapsed = ImageBenchmark.Run(result.GetValue(file)!, options);
            if (!silent)
            {
                Console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "Run completed in {0:0.000} seconds.", elapsed.TotalSeconds));
            }

            return 0;
        });
        return command;
    }
}
