using System.CommandLine;
using System.Text;
using Vessel.Storage.Operations;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img map [-f FMT] [--output human|json] [-U] FILE</c>.</summary>
internal static class ImgMapCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var output = new Option<string>("--output") { Description = "human or json", HelpName = "human|json", DefaultValueFactory = _ => "human" }.OneOf("human", "json");
        var forceShare = new Option<bool>("--force-share", "-U") { Description = "Map even if another process has the image open for writing" };
        var file = new Argument<string>("FILE") { Description = "The image", HelpName = "FILE" };
        var command = new Command("map", "Show where each part of the virtual disk is stored, through the backing chain.") { format, output, forceShare, file };
        command.SetAction(result =>
        {
            bool json = ImgOutput.IsJson(result.GetValue(output));
            List<MapEntry> entries = ImageMapper.Map(result.GetValue(file)!, ImgArguments.Format(result.GetValue(format)), result.GetValue(forceShare));
            Console.Out.Write(json ? Json(entries) : Human(entries));
            return 0;
        });
        return command;
    }

    private static string Json(List<MapEntry> entries)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < entries.Count; i++)
        {
            MapEntry e = entries[i];
            if (i > 0)
            {
                text.Append(",\n");
            }

            text.Append($"{{ \"start\": {e.Start}, \"length\": {e.Length}, \"depth\": {e.Depth}, \"present\": {Bool(e.Present)}, \"zero\": {Bool(e.Zero)}, \"data\": {Bool(e.Data)}");
            if (e.Offset is { } offset)
            {
                text.Append($", \"offset\": {offset}");
            }

            text.Append('}');
        }

        text.Append("]\n");
        return text.ToString();
    }

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Human(List<MapEntry> entries)
    {
        var text = new StringBuilder();
        text.Append($"{"Offset",-16}{"Length",-16}{"Mapped to",-16}File\n");
        foreach (MapEntry e in entries)
        {
            if (!e.Data)
            {
                continue;
            }

            if (e.Offset is not { } offset)
            {
                throw UserErrorException.Failure("the image contains compressed clusters, which have no place in the human map; use --output=json");
            }

            text.Append($"{Hex(e.Start),-16}{Hex(e.Length),-16}{Hex(offset),-16}{e.Filename}\n");
        }

        return text.ToString();
    }

    private static string Hex(long value) => value == 0 ? "0" : $"0x{value:x}";
}
