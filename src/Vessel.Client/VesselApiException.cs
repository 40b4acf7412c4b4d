namespace Vessel.Client;

/// <summary>The API refused a request or could not be reached; <see cref="Exception.Message"/> is the one-sentence reason.</summary>
public sealed class VesselApiException(int status, string message) : Exception(message)
{
    /// <summary>The HTTP status, or 0 when the daemon could not be reached.</summary>
    public int Status { get; } = status;
}
