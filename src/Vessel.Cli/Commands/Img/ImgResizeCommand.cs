using System.CommandLine;
using Vessel.Storage;

namespace Vessel.Cli.Commands.Img;

/// <summary><c>vessel img resize [-f FMT] [--shrink] FILE [+|-]SIZE</c>.</summary>
internal static class ImgResizeCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("-f") { Description = "Image format: raw or qcow2 (detected when omitted)", HelpName = "FORMAT" }.OneOf(ImgArguments.Formats);
        var shrink = new Option<bool>("--shrink") { Description = "Allow making the image smaller (data past the new end is lost)" };
        var quiet = new Option<bool>("-q") { Description = "Print nothing" };
        var file = new Argument<string>("FILE") { Description = "The image", HelpName = "FILE" };
        var size = new Argument<string>("SIZE") { Description = "New size, or +SIZE / -SIZE relative to the current one", HelpName = "[+|-]SIZE" };
        var command = new Command("resize", "Change the virtual size of an image.") { format, shrink, quiet, file, size };
        command.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            string sizeText = result.GetValue(size)!;
            using DiskImage image = ImageOpener.Open(path, new ImageOpenOptions { Format = ImgArguments.Format(result.GetValue(format)) });
            long newSize = sizeText[0] switch
            {
                '+' => image.Length + ImgArguments.Size(sizeText[1..]),
                '-' => image.Length - ImgArguments.Size(sizeText[1..]),
                _ => ImgArguments.Size(sizeText),
            };
            if (newSize < 0)
            {
                throw UserErrorException.Usage($"the new size would be negative ({newSize} bytes)");
            }

            if (newSize < image.Length && !result.GetValue(shrink))
            {
                throw UserErrorException.Usage("shrinking drops the data past the new end; use --shrink to confirm");
            }

            image.Resize(newSize, allowShrink: true);
            if (!result.GetValue(quiet))
            {
                Console.Out.WriteLine("Image resized.");
            }

            return 0;
        });
        return command;
    }
}
