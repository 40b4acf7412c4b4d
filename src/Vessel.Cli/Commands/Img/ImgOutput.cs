namespace Vessel.Cli.Commands.Img;

/// <summary>The --output choice shared by info, check and map.</summary>
internal static class ImgOutput
{
    public static bool IsJson(string? output) => output switch
    {
        null or "human" => false,
        "json" => true,
        _ => throw UserErrorException.Usage($"--output must be human or json, not '{output}'"),
    };
}
