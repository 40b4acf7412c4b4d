using System.Text.Json;
using Vessel.Server.Access;

namespace Vessel.Server.Audit;

/// <summary>
/// Puts every change made through the API on record: every request under <c>/api/v1</c> other
/// than GET, HEAD and OPTIONS (logins among them, successful or not) and every WebSocket opened
/// (consoles, events). It stands outside the exception handler, so it records the status and
/// problem detail the client got. It never reads the request's body (passwords); of the
/// response it keeps the first bytes, for the detail of a failure and the started operation.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, AuditLog log, ILogger<AuditMiddleware> logger)
{
    /// <summary>How much of a response is looked at: problem details and operations are far smaller.</summary>
    private const int CaptureLimit = 16 * 1024;

    public async Task InvokeAsync(HttpContext http)
    {
        bool webSocket = http.WebSockets.IsWebSocketRequest;
        string method = http.Request.Method;
        bool change = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
        if (!http.Request.Path.StartsWithSegments("/api/v1") || !(change || webSocket))
        {
            await next(http);
            return;
        }

        // Routing ran before: take the endpoint and its values now, as the exception handler clears them.
        Endpoint? endpoint = http.GetEndpoint();
        string action = AuditActions.NameOf(endpoint, method, webSocket);
        string target = AuditActions.ObjectOf(endpoint, http.Request.RouteValues);
        int recorded = 0;
        async Task RecordAsync(ResponseCapture? capture)
        {
            if (Interlocked.Exchange(ref recorded, 1) != 0)
            {
                return;
            }

            string user = http.Items[Caller.LoginSubjectItem] as string is { Length: > 0 } tried ? tried : Caller.Name(http);
            try
            {
                (string? detail, Guid? operation, string? created) = capture?.Read(http.Response.StatusCode) ?? default;
                string what = target.Length > 0 || created is null ? target
                    : created.Contains(':', StringComparison.Ordinal) ? created
                    : $"{action.Split('.')[0]}:{created}";
                await log.AppendAsync(new AuditEvent(user, Caller.Source(http), action, what, http.Response.StatusCode, detail, operation));
            }
            catch (Exception e)
            {
                // The client has its answer already; a failure to record must not turn it into an error.
                logger.LogError(e, "Could not write the audit entry for {Action} by {User}", action, user);
            }
        }

        if (webSocket)
        {
            // A session is on record when it opens (its 101, or the refusal), not when it ends.
            http.Response.OnStarting(() => RecordAsync(null));
            try
            {
                await next(http);
            }
            finally
            {
                await RecordAsync(null);
            }

            return;
        }

        Stream original = http.Response.Body;
        using var capture = new ResponseCapture(original, CaptureLimit);
        http.Response.Body = capture;
        try
        {
            await next(http);
        }
        catch
        {
            if (!http.Response.HasStarted)
            {
                http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }

            await RecordAsync(capture);
            throw;
        }
        finally
        {
            http.Response.Body = original;
        }

        await RecordAsync(capture);
    }

    /// <summary>Passes a response through, keeping its first bytes.</summary>
    private sealed class ResponseCapture(Stream inner, int limit) : Stream
    {
        private readonly MemoryStream _kept = new();

        public (string? Detail, Guid? Operation, string? Created) Read(int status)
        {
            if (_kept.Length == 0)
            {
                return default;
            }

            try
            {
                using JsonDocument document = JsonDocument.Parse(_kept.ToArray());
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return default;
                }

                JsonElement root = document.RootElement;
                string? detail = status >= 400 && root.TryGetProperty("detail", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                // An operation (OperationInfo): its id, and the object it works on.
                if (root.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String && id.TryGetGuid(out Guid operation) && root.TryGetProperty("kind", out _) && root.TryGetProperty("status", out _))
                {
                    string? created = root.TryGetProperty("targetKind", out JsonElement kind) && kind.ValueKind == JsonValueKind.String
                        && root.TryGetProperty("target", out JsonElement target) && target.ValueKind == JsonValueKind.String
                            ? $"{kind.GetString()!.ToLowerInvariant()}:{target.GetString()}"
                            : null;
                    return (detail, operation, created);
                }

                // A created object (a pool, a network, a user): its name.
                string? name = root.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                return (detail, null, name);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                // Not JSON, cut at the limit, or not shaped as expected: nothing more to learn from it.
                return default;
            }
        }

        private void Keep(ReadOnlySpan<byte> data)
        {
            int room = limit - (int)_kept.Length;
            if (room > 0)
            {
                _kept.Write(data[..Math.Min(room, data.Length)]);
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _kept.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
