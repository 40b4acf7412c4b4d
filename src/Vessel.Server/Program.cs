using Vessel.Server.Hosting;

namespace Vessel.Server;

/// <summary>
/// vessel serve as its own program; the vessel CLI runs the same code as <c>vessel serve</c>.
/// Tests name this type to host the daemon in-process (WebApplicationFactory).
/// </summary>
public sealed class ServerProgram
{
    private ServerProgram()
    {
    }

    public static int Main(string[] args) => ServerApplication.Run(args, Console.Error);
}
