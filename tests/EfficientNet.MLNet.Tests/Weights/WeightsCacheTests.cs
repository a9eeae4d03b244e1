using System.Security.Cryptography;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Tests.Weights;

/// <summary>
/// Fetching weights into the cache from a loopback HTTP server: a download, a cache hit with the server gone, a
/// connection cut half way (continued with a Range request), a wrong SHA-256, a 404, a server that never answers,
/// two downloads at once, a file:// URL.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class WeightsCacheTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder cache = new();
    private readonly EnvironmentVariables environment = new();
    private readonly byte[] content = RandomNumberGenerator.GetBytes(3_000_000);

    public WeightsCacheTests() => environment.Set(CacheFolder.Variable, cache.Path);

    string Sha256 => Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();

    static string Fetch(PretrainedWeights weights, Action<WeightsDownloadProgress>? progress = null, TimeSpan? timeout = null) =>
        WeightsCache.Get(weights, progress, timeout, TestContext.Current.CancellationToken);

    static PretrainedWeights Entry(string url, string sha256) =>
        new("test.b0", "b0", false, url, sha256, 256, 224, ResizeInterpolation.Bicubic, PixelNormalization.ImageNet, new[] { "a", "b" });

    [Fact]
    public void A_download_lands_checked_in_the_cache_and_a_second_use_needs_no_server()
    {
        string url;
        var progress = new List<WeightsDownloadProgress>();
        string path;
        using (var server = new LoopbackServer())
        {
            url = server.Serve("weights/b0-abc.pth", content);
            path = Fetch(Entry(url, Sha256[..8]), progress.Add);
        }

        var again = Fetch(Entry(url, Sha256[..8]));

        Assert.Equal(Path.Combine(cache.Path, "weights", Sha256[..8], "b0-abc.pth"), path); // keyed by the content's hash
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.Equal(path, again);
        Assert.Equal(content.Length, progress[^1].BytesReceived);
        Assert.Equal(content.Length, progress[^1].TotalBytes);
        Assert.True(progress.Count >= 10, $"{progress.Count} progress reports");
        Assert.Equal(new[] { "b0-abc.pth", "b0-abc.pth.verified" }, Directory.GetFiles(Path.Combine(cache.Path, "weights", Sha256[..8])).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_connection_cut_half_way_is_continued_with_a_range_request()
    {
        using var server = new LoopbackServer { CutNext = 1 };
        var url = server.Serve("b0.pth", content);

        var path = Fetch(Entry(url, Sha256));

        Assert.Equal(content, File.ReadAllBytes(path));
        var requests = server.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].Range);
        // It continues from what arrived before the cut (up to the half the server sent).
        Assert.Matches("^bytes=[0-9]+-$", requests[1].Range);
        Assert.InRange(long.Parse(requests[1].Range!["bytes=".Length..^1]), 1, content.Length / 2);
    }

    [Fact]
    public void A_wrong_SHA_256_deletes_the_file_and_says_what_it_was()
    {
        using var server = new LoopbackServer();
        var url = server.Serve("b0-0badc0de.pth", content);

        var error = Assert.Throws<WeightsDownloadException>(() => Fetch(Entry(url, "0badc0de")));

        Assert.Contains($"The SHA-256 of b0-0badc0de.pth (the weights test.b0 from {url}) is {Sha256}, expected 0badc0de", error.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(cache.Path, "weights"), "*.pth*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_missing_file_on_the_server_names_the_status_and_where_to_put_the_file_by_hand()
    {
        using var server = new LoopbackServer();

        var error = Assert.Throws<WeightsDownloadException>(() => Fetch(Entry(server.BaseUrl + "gone/b0.pth", Sha256)));

        Assert.Contains("The server answered 404", error.Message);
        Assert.Contains($"place the file b0.pth in {Path.Combine(cache.Path, "weights")} by hand", error.Message);
    }

    [Fact]
    public void A_server_that_never_answers_fails_after_the_timeout_and_says_how_to_work_offline()
    {
        using var server = new LoopbackServer { Silent = true };
        var url = server.Serve("b0.pth", content);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = Assert.Throws<WeightsDownloadException>(() => Fetch(Entry(url, Sha256), timeout: TimeSpan.FromMilliseconds(300)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"gave up after {clock.Elapsed}");
        Assert.Contains($"could not be downloaded from {url} (the server sent no answer", error.Message);
        Assert.Contains("Without internet access, place the file b0.pth in", error.Message);
        Assert.Contains("efficientnet weights download test.b0", error.Message);
    }

    [Fact]
    public void Two_downloads_of_the_same_weights_at_once_fetch_them_once_and_agree()
    {
        using var server = new LoopbackServer { Delay = TimeSpan.FromMilliseconds(300) };
        var url = server.Serve("b0.pth", content);
        var entry = Entry(url, Sha256[..12]);

        var paths = new string[2];
        Simultaneously.Run(2, i => paths[i] = Fetch(entry));

        Assert.Equal(paths[0], paths[1]);
        Assert.Equal(content, File.ReadAllBytes(paths[0]));
        Assert.Single(server.Requests);
    }

    [Fact]
    public void A_file_url_or_a_path_is_copied_in_and_checked_like_a_download()
    {
        using var source = new FixturePaths.TemporaryFolder();
        var file = Path.Combine(source.Path, "mirror-b0.pth");
        File.WriteAllBytes(file, content);

        var fromUrl = Fetch(Entry(new Uri(file).AbsoluteUri, Sha256));
        File.Delete(fromUrl);
        var fromPath = Fetch(Entry(file, Sha256));

        Assert.Equal(content, File.ReadAllBytes(fromPath));
        Assert.Equal(Path.Combine(cache.Path, "weights", Sha256, "mirror-b0.pth"), fromUrl);
    }

    [Fact]
    public void Two_entries_whose_files_share_a_name_are_kept_apart_and_each_checked()
    {
        var other = RandomNumberGenerator.GetBytes(1_000_000);
        var otherSha = Convert.ToHexString(SHA256.HashData(other)).ToLowerInvariant();
        using var server = new LoopbackServer();
        var first = Entry(server.Serve("org-a/model.safetensors", content), Sha256);
        var second = Entry(server.Serve("org-b/model.safetensors", other), otherSha);

        var firstPath = Fetch(first);
        var secondPath = Fetch(second);

        // Before, both were weights/model.safetensors: the second entry got the first one's file, unchecked.
        Assert.NotEqual(firstPath, secondPath);
        Assert.Equal(content, File.ReadAllBytes(Fetch(first)));
        Assert.Equal(other, File.ReadAllBytes(Fetch(second)));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public void A_cached_file_changed_on_disk_is_hashed_again_and_fetched_anew()
    {
        using var server = new LoopbackServer();
        var entry = Entry(server.Serve("b0.pth", content), Sha256);
        var path = Fetch(entry);
        var damaged = content.ToArray();
        damaged[1000] ^= 0xFF;
        File.WriteAllBytes(path, damaged); // bit rot, or another file copied over it
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));

        var again = Fetch(entry);

        Assert.Equal(path, again);
        Assert.Equal(content, File.ReadAllBytes(again));
        Assert.Equal(2, server.Requests.Count); // before, the damaged file was used as it was
    }

    [Fact]
    public void A_file_placed_by_hand_is_used_when_its_content_is_the_entrys_and_a_file_of_ones_own_with_its_name_is_no_entry()
    {
        var entry = Entry("http://127.0.0.1:9/unreachable/b0-hand.pth", Sha256);
        Directory.CreateDirectory(Path.Combine(cache.Path, "weights"));
        File.WriteAllBytes(Path.Combine(cache.Path, "weights", "b0-hand.pth"), content); // where the older instructions said

        var used = Fetch(entry); // no server: the file placed by hand, checked and moved under its hash
        var registryEntry = new PretrainedWeights("test.own", "b0", false, "http://127.0.0.1:9/x/model.safetensors", Sha256, 256, 224,
            ResizeInterpolation.Bicubic, PixelNormalization.ImageNet, new[] { "a", "b" });
        using var mine = new FixturePaths.TemporaryFolder();
        File.WriteAllBytes(mine.File("model.safetensors"), RandomNumberGenerator.GetBytes(1000)); // my own file, same name
        Directory.CreateDirectory(mine.File("copy"));
        File.WriteAllBytes(mine.File("copy/model.safetensors"), content);                      // the entry's own file, copied

        Assert.Equal(content, File.ReadAllBytes(used));
        Assert.Equal(WeightsCache.PathOf(entry), used);
        Assert.Null(WeightsRegistry.FindIn([registryEntry], mine.File("model.safetensors")));
        Assert.Same(registryEntry, WeightsRegistry.FindIn([registryEntry], mine.File("copy/model.safetensors")));
    }

    public void Dispose()
    {
        environment.Dispose();
        cache.Dispose();
    }
}
