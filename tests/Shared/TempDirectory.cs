namespace Vessel.Testing;

/// <summary>
/// A directory of its own for one test under the system's temporary folder, deleted afterwards.
/// One source file compiled into every test project that needs it (see tests/Shared).
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("vessel-test-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
