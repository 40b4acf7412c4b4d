using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Vessel.Server.Hosting;

/// <summary>
/// The web interface at <c>/</c>: the single-page application of <c>src/Vessel.Web</c>, built
/// by the server's build into <c>wwwroot</c> beside the daemon. Its files are the same for
/// everybody and hold no data, so they are served before authentication; everything the
/// application shows comes from <c>/api/v1</c>, under the caller's own rights.
/// </summary>
public static class WebInterface
{
    /// <summary>Where the built application is: <c>wwwroot</c> beside the daemon's assembly.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "wwwroot");

    // The application's own scripts and styles only; WebSockets and fetches to this origin
    // only; no framing by other sites (clickjacking of power buttons).
    private const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static void Use(WebApplication app)
    {
        string root = Root;
        if (!File.Exists(Path.Combine(root, "index.html")))
        {
            app.Logger.LogWarning("The web interface is not built ({Root} has no index.html); the API works without it.", root);
            return;
        }

        var files = new PhysicalFileProvider(root);
        var types = new FileExtensionContentTypeProvider();
        app.Use(async (http, next) =>
        {
            string path = http.Request.Path.Value ?? "/";
            bool isPage = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
            if (!isPage || path.StartsWith("/api/", StringComparison.Ordinal) || path == "/api" || path == "/metrics")
            {
                await next(http);
                return;
            }

            // The application's pages are addressed in the fragment (/#/vm/web1), which browsers do
            // not send: "/" is its page, and any other path is one of its files or nothing (404).
            IFileInfo file = files.GetFileInfo(path == "/" ? "/index.html" : path);
            if (!file.Exists || file.IsDirectory)
            {
                await next(http);
                return;
            }

            // Vite names built assets by their content's hash: they never change, so browsers
            // keep them; index.html names the current ones, so it is fetched every time.
            bool immutable = path.StartsWith("/assets/", StringComparison.Ordinal);
            http.Response.Headers.CacheControl = immutable ? "public, max-age=31536000, immutable" : "no-cache";
            http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "same-origin";
            http.Response.ContentType = types.TryGetContentType(file.Name, out string? type) ? type : "application/octet-stream";
            http.Response.ContentLength = file.Length;
            if (HttpMethods.IsGet(http.Request.Method))
            {
                await http.Response.SendFileAsync(file, http.RequestAborted);
            }
        });
    }
}
