namespace Vessel.Vmm.Qmp;

/// <summary>
/// A command's failure as QMP reports it: <c>{"error": {"class": ..., "desc": ...}}</c>. The
/// classes are QEMU's (<c>qapi/error.json</c>), so clients that branch on them work unchanged.
/// </summary>
public sealed class QmpException(string errorClass, string description) : Exception(description)
{
    public const string GenericError = "GenericError";
    public const string CommandNotFound = "CommandNotFound";
    public const string DeviceNotActive = "DeviceNotActive";
    public const string DeviceNotFound = "DeviceNotFound";

    public string ErrorClass { get; } = errorClass;

    public static QmpException Generic(string description) => new(GenericError, description);
}
