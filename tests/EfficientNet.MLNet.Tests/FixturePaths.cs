using System.Reflection;

namespace EfficientNet.MLNet.Tests;

/// <summary>Where the committed fixtures and the build's metadata are.</summary>
internal static class FixturePaths
{
    public static string Of(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static string Metadata(string key) =>
        typeof(FixturePaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"No assembly metadata '{key}'.");

    /// <summary>A folder for files a person looks at after the run (heat maps, screenshots): TestResults/artifacts/NAME beside the test binaries.</summary>
    public static string Artifacts(string name) =>
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults", "artifacts", name)).FullName;

    /// <summary>A fresh folder under the system temp folder, deleted when disposed.</summary>
    public sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("efficientnet-tests-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
