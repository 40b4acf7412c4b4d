namespace Vessel.Server.Licensing;

/// <summary>
/// The host's one licensing row: when the evaluation began (the first start, never reset) and
/// the installed licence as the signed text it arrived in (verified again at every start, so
/// that an edit in the database is as useless as an edit of the file).
/// </summary>
public sealed class LicenseStateRecord
{
    /// <summary>The only row's key.</summary>
    public const int SingletonId = 1;

    /// <summary>A licence file is a few hundred bytes; anything much larger is not one.</summary>
    public const int MaxLicenseLength = 16 * 1024;

    public int Id { get; set; } = SingletonId;

    public DateTime EvaluationStartedAt { get; set; }

    public string? LicenseText { get; set; }

    public DateTime? InstalledAt { get; set; }

    public string? InstalledBy { get; set; }
}
