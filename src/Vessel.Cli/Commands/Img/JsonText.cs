using System.Text;
using System.Text.Json;

namespace Vessel.Cli.Commands.Img;

/// <summary>Pretty JSON with four-space indentation, like qemu-img's --output=json.</summary>
internal static class JsonText
{
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            body(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
