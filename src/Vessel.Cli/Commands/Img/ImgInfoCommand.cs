using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vessel.Storage;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img info [-f FMT] [--backing-chain] [--output human|json] [-U] FILE</c>.</summary>
internal static class ImgInfoCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var chain = new Option<bool>("--backing-chain") { Description = "Also show every backing image" };
        var output = new Option<string>("--output") { Description = "human or json", HelpName = "human|json", DefaultValueFactory = _ => "human" }.OneOf("human", "json");
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Read the image even if another process has it open for writing" };
        var file = new Argument<string>("FILE") { Description = "The image", HelpName = "FILE" };
        var command = new Command("info", "Show the format, size, backing chain and snapshots of an image.") { format, chain, output, forceShare, file };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            bool json = ImgOutput.IsJson(result.GetValue(output));
            ImageFormat? imageFormat = ImgArguments.Format(result.GetValue(format));
            // Like qemu-img info: no data I/O, so no lock is needed; -U is accepted for compatibility.
            bool share = true;
            _ = result.GetValue(forceShare);
            if (result.GetValue(chain))
            {
                List<ImageInfo> infos = ImageInfo.ReadChain(path, imageFormat, share);
                Console.Out.Write(json
                    ? JsonText.Write(w =>
                    {
                        w.WriteStartArray();
                        foreach (ImageInfo info in infos)
                        {
                            WriteJson(w, info);
                        }

                        w.WriteEndArray();
                    }) + "\n"
                    : string.Join("\n", infos.Select(Human)));
                return 0;
            }

            ImageInfo single = ImageInfo.Read(path, imageFormat, share);
            Console.Out.Write(json ? JsonText.Write(w => WriteJson(w, single)) + "\n" : Human(single));
            return 0;
        });
        return command;
    }

    public static string Human(ImageInfo info)
    {
        var text = new StringBuilder();
        text.Append($"image: {info.Filename}\n");
        text.Append($"file format: {info.Format}\n");
        text.Append($"virtual size: {HumanSize.Format(info.VirtualSize)} ({info.VirtualSize} bytes)\n");
        text.Append($"disk size: {HumanSize.Format(info.ActualSize)}\n");
        if (info.ClusterSize is { } clusterSize)
        {
            text.Append($"cluster_size: {clusterSize}\n");
        }

        if (info.BackingFilename is { } backing)
        {
            text.Append(info.FullBackingFilename != backing ? $"backing file: {backing} (actual path: {info.FullBackingFilename})\n" : $"backing file: {backing}\n");
            if (info.BackingFilenameFormat is { } backingFormat)
            {
                text.Append($"backing file format: {backingFormat}\n");
            }
        }

        if (info.DirtyFlag)
        {
            text.Append("cleanly shut down: no\n");
        }

        if (info.Snapshots.Count > 0)
        {
            text.Append(SnapshotTable(info.Snapshots));
        }

        if (info.Qcow2 is { } q)
        {
            text.Append("Format specific information:\n");
            text.Append($"    compat: {q.Compat}\n");
            text.Append($"    compression type: {q.CompressionType}\n");
            text.Append($"    lazy refcounts: {Bool(q.LazyRefcounts)}\n");
            text.Append($"    refcount bits: {q.RefcountBits}\n");
            text.Append($"    corrupt: {Bool(q.Corrupt)}\n");
            text.Append($"    extended l2: {Bool(q.ExtendedL2)}\n");
        }

        return text.ToString();
    }

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>The snapshot list in qemu-img's column layout.</summary>
    public static string SnapshotTable(IReadOnlyList<SnapshotInfo> snapshots)
    {
        var text = new StringBuilder();
        text.Append("Snapshot list:\n");
        text.Append(string.Format(CultureInfo.InvariantCulture, "{0,-10}{1,-17}{2,8}{3,20}{4,13}{5,11}\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"));
        foreach (SnapshotInfo s in snapshots)
        {
            string date = s.Date.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            long clock = s.VmClockNanoseconds;
            string vmClock = string.Format(CultureInfo.InvariantCulture, "{0:00}:{1:00}:{2:00}.{3:000}", clock / 3_600_000_000_000, clock / 60_000_000_000 % 60, clock / 1_000_000_000 % 60, clock / 1_000_000 % 1000);
            string icount = s.Icount is { } i ? i.ToString(CultureInfo.InvariantCulture) : string.Empty;
            text.Append(string.Format(CultureInfo.InvariantCulture, "{0,-9} {1,-16} {2,8}{3,20}{4,13}{5,11}\n", s.Id, s.Name, HumanSize.Format(s.VmStateSize), date, vmClock, icount));
        }

        return text.ToString();
    }

    public static void WriteSnapshotJson(Utf8JsonWriter w, SnapshotInfo s)
    {
        w.WriteStartObject();
        if (s.Icount is { } icount)
        {
            w.WriteNumber("icount", icount);
        }

        w.WriteNumber("vm-clock-nsec", s.VmClockNanoseconds % 1_000_000_000);
        w.WriteString("name", s.Name);
        w.WriteNumber("date-sec", s.DateSeconds);
        w.WriteNumber("date-nsec", s.DateNanoseconds);
        w.WriteNumber("vm-clock-sec", s.VmClockNanoseconds / 1_000_000_000);
        w.WriteString("id", s.Id);
        w.WriteNumber("vm-state-size", s.VmStateSize);
        w.WriteEndObject();
    }

    private static void WriteJson(Utf8JsonWriter w, ImageInfo info)
    {
        w.WriteStartObject();
        if (info.BackingFilenameFormat is { } backingFormat)
        {
            w.WriteString("backing-filename-format", backingFormat);
        }

        if (info.Snapshots.Count > 0)
        {
            w.WriteStartArray("snapshots");
            foreach (SnapshotInfo s in info.Snapshots)
            {
                WriteSnapshotJson(w, s);
            }

            w.WriteEndArray();
        }

        w.WriteNumber("virtual-size", info.VirtualSize);
        w.WriteString("filename", info.Filename);
        if (info.ClusterSize is { } clusterSize)
        {
            w.WriteNumber("cluster-size", clusterSize);
        }

        w.WriteString("format", info.Format);
        w.WriteNumber("actual-size", info.ActualSize);
        if (info.Qcow2 is { } q)
        {
            w.WriteStartObject("format-specific");
            w.WriteString("type", "qcow2");
            w.WriteStartObject("data");
            w.WriteString("compat", q.Compat);
            w.WriteString("compression-type", q.CompressionType);
            w.WriteBoolean("lazy-refcounts", q.LazyRefcounts);
            w.WriteNumber("refcount-bits", q.RefcountBits);
            w.WriteBoolean("corrupt", q.Corrupt);
            w.WriteBoolean("extended-l2", q.ExtendedL2);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (info.FullBackingFilename is { } full)
        {
            w.WriteString("full-backing-filename", full);
        }

        if (info.BackingFilename is { } backing)
        {
            w.WriteString("backing-filename", backing);
        }

        w.WriteBoolean("dirty-flag", info.DirtyFlag);
        w.WriteEndObject();
    }
}
