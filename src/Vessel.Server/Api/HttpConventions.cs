using Vessel.Client.Contracts;
using Vessel.Server.Operations;

namespace Vessel.Server.Api;

/// <summary>What every endpoint does alike: operations as 202 (or 200 once finished within <c>?wait=</c>), ETags, paging.</summary>
public static class HttpConventions
{
    public const int MaxWaitSeconds = 3600;
    public const int MaxPageSize = 1000;

    /// <summary>
    /// The response for a started operation: 202 with its record and a Location, or, when the
    /// client asked to <c>?wait=SECONDS</c> and it finished by then, 200 with its outcome.
    /// </summary>
    public static async Task<IResult> OperationResultAsync(HttpContext http, OperationManager operations, OperationInfo started)
    {
        TimeSpan wait = WaitOf(http);
        OperationInfo operation = wait > TimeSpan.Zero ? await operations.GetAsync(started.Id, wait, http.RequestAborted) : started;
        string location = $"/api/v1/operations/{operation.Id}";
        return operation.IsFinished ? Results.Ok(operation) : Results.Accepted(location, operation);
    }

    /// <summary>
    /// Maps a WebSocket endpoint: opened by GET over HTTP/1.1, but by CONNECT over HTTP/2 (RFC
    /// 8441), which browsers use on HTTPS; mapped with GET alone, a browser's WebSocket met a
    /// "method not allowed" endpoint.
    /// </summary>
    public static RouteHandlerBuilder MapWebSocket(this IEndpointRouteBuilder routes, string pattern, Delegate handler) =>
        routes.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Connect], handler);

    /// <summary>Declares in the OpenAPI document what <see cref="OperationResultAsync"/> answers (the web client is typed from it).</summary>
    public static RouteHandlerBuilder ProducesOperation(this RouteHandlerBuilder endpoint) =>
        endpoint.Produces<OperationInfo>(StatusCodes.Status200OK).Produces<OperationInfo>(StatusCodes.Status202Accepted);

    public static TimeSpan WaitOf(HttpContext http)
    {
        string? text = http.Request.Query["wait"];
        if (string.IsNullOrEmpty(text))
        {
            return TimeSpan.Zero;
        }

        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds < 0 || seconds > MaxWaitSeconds)
        {
            throw ApiException.BadRequest($"The wait parameter is a number of seconds from 0 to {MaxWaitSeconds}, not '{Short(text)}'.");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    public static string ETagOf(long version) => $"\"{version}\"";

    /// <summary>Refuses an edit whose If-Match names another version (412); no If-Match edits whatever is there.</summary>
    public static void CheckIfMatch(HttpContext http, long version, string what)
    {
        string? ifMatch = http.Request.Headers.IfMatch;
        if (string.IsNullOrEmpty(ifMatch) || ifMatch == "*")
        {
            return;
        }

        string current = ETagOf(version);
        bool matches = ifMatch.Split(',').Select(t => t.Trim()).Any(t => t == current || t == "W/" + current);
        if (!matches)
        {
            throw ApiException.PreconditionFailed($"{what} changed since it was read (it is now version {version}, ETag {current}); read it again and retry.");
        }
    }

    public static (int Page, int PageSize) PagingOf(int? page, int? pageSize)
    {
        int p = page ?? 1;
        int size = pageSize ?? 100;
        if (p < 1)
        {
            throw ApiException.BadRequest($"Pages are numbered from 1, and {p} is before that.");
        }

        if (size is < 1 or > MaxPageSize)
        {
            throw ApiException.BadRequest($"A page holds 1 to {MaxPageSize} items (pageSize), not {size}.");
        }

        return (p, size);
    }

    public static string Short(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
