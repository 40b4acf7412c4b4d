using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Vessel.Server.Api;

/// <summary>
/// A request that cannot be carried out, with the HTTP status and the one sentence that becomes
/// the problem details' <c>detail</c> (RFC 9457). Thrown anywhere below the endpoints.
/// </summary>
public sealed class ApiException(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    /// <summary>When set, the answer says when to try again (Retry-After), as a refused login does.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);

    public static ApiException Unauthorized(string detail) => new(StatusCodes.Status401Unauthorized, detail);

    public static ApiException Forbidden(string detail) => new(StatusCodes.Status403Forbidden, detail);

    public static ApiException NotFound(string detail) => new(StatusCodes.Status404NotFound, detail);

    public static ApiException Conflict(string detail) => new(StatusCodes.Status409Conflict, detail);

    public static ApiException PreconditionFailed(string detail) => new(StatusCodes.Status412PreconditionFailed, detail);
}

/// <summary>Turns exceptions into problem details whose <c>detail</c> is one sentence.</summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string detail) = exception switch
        {
            ApiException api => (api.Status, api.Message),
            BadHttpRequestException bad => (bad.StatusCode, Sentences.Of(bad.Message)),
            Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException => (StatusCodes.Status409Conflict, "The object changed while this request was being carried out; read it again and retry."),
            _ => (StatusCodes.Status500InternalServerError, Sentences.Of($"The server failed: {exception.Message}")),
        };
        if (status >= 500)
        {
            logger.LogError(exception, "Request {Path} failed", httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        if (exception is ApiException { RetryAfterSeconds: { } retryAfter })
        {
            httpContext.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (status == StatusCodes.Status401Unauthorized)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Detail = detail, Title = TitleOf(status) },
        });
    }

    private static string TitleOf(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        412 => "Precondition failed",
        413 => "Too large",
        429 => "Too many requests",
        431 => "Headers too large",
        _ => "Server error",
    };
}

/// <summary>Makes a message one sentence: one line, a capital first letter, a full stop at the end.</summary>
public static class Sentences
{
    public static string Of(string message)
    {
        string text = string.Join(' ', message.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        if (text.Length == 0)
        {
            return "An unknown error occurred.";
        }

        text = char.ToUpperInvariant(text[0]) + text[1..];
        return text.EndsWith('.') || text.EndsWith('?') || text.EndsWith(".)", StringComparison.Ordinal) ? text : text + ".";
    }
}
