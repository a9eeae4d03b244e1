using System.Security.Cryptography;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Tests.Cli;

/// <summary><c>efficientnet weights list</c> and <c>efficientnet weights download</c>, against a loopback server.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class WeightsCommandTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly EnvironmentVariables environment = new();
    private readonly LoopbackServer server = new();
    private readonly byte[] content = RandomNumberGenerator.GetBytes(200_000);

    public WeightsCommandTests() => environment.Set(CacheFolder.Variable, folder.File("cache"));

    void Manifest(string sha256)
    {
        var url = server.Serve("mine-b3.pth", content);
        var manifest = folder.File("manifest.json");
        File.WriteAllText(manifest, $$"""{ "weights": [ { "name": "mine.b3", "architecture": "b3", "url": "{{url}}", "sha256": "{{sha256}}", "resize": 320, "crop": 300, "top1": 91.5, "megabytes": 0.2 } ] }""");
        environment.Set(WeightsRegistry.ManifestVariable, manifest);
    }

    static (int Exit, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = EfficientNetCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Download_fetches_into_the_cache_and_list_shows_it_cached()
    {
        var sha256 = Convert.ToHexString(SHA256.HashData(content));
        Manifest(sha256);

        var download = Run("weights", "download", "mine.b3");
        var list = Run("weights", "list");

        Assert.True(download.Exit == 0, download.Error);
        var cached = Path.Combine(folder.File("cache"), "weights", sha256.ToLowerInvariant(), "mine-b3.pth"); // keyed by the content's hash
        Assert.Contains($"mine.b3: {cached}", download.Output);
        Assert.Contains("Downloading mine.b3: 100%", download.Output);
        Assert.Equal(content, File.ReadAllBytes(cached));
        Assert.Equal(0, list.Exit);
        Assert.Matches(@"mine\.b3\s+b3\s+top-1 91\.5%\s+0 MB\s+cached", list.Output);
        Assert.Contains("efficientnet_b0.IMAGENET1K_V1", list.Output);
        Assert.Contains($"Cache folder: {Path.Combine(folder.File("cache"), "weights")}", list.Output);
    }

    [Fact]
    public void A_wrong_SHA_256_or_an_unknown_name_is_exit_code_2_with_the_reason()
    {
        Manifest("0badc0de");

        var mismatch = Run("weights", "download", "mine.b3");
        var unknown = Run("weights", "download", "nothing.b0");

        Assert.Equal(2, mismatch.Exit);
        Assert.Contains("The SHA-256 of mine-b3.pth", mismatch.Error);
        Assert.Contains("expected 0badc0de", mismatch.Error);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("No pretrained weights are named \"nothing.b0\"", unknown.Error);
    }

    public void Dispose()
    {
        server.Dispose();
        environment.Dispose();
        folder.Dispose();
    }
}
