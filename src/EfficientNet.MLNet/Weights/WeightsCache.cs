using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// Pretrained weights on this machine: each file in the cache folder (the library's cache folder + "weights", see
/// the README; EFFICIENTNET_CACHE moves it), downloaded once and checked. A download goes to a ".partial" file,
/// continues with a Range request when the connection is cut, is checked against the entry's SHA-256 and only then
/// renamed into place; a lock file keeps two processes from fetching the same file at once. Proxies configured for
/// the system (HTTPS_PROXY and the like) are honoured. To use weights on a machine without internet, copy the file
/// into its cache folder (<see cref="PathOf"/>), e.g. after <c>efficientnet weights download NAME</c> elsewhere.
/// </summary>
public static class WeightsCache
{
    const int Attempts = 5;
    static readonly HttpClient Client = new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The folder the files are kept in.</summary>
    public static string Folder => Path.Combine(CacheFolder.Root, "weights");

    /// <summary>
    /// Where the weights' file is (or will be) in the cache: a folder named by the SHA-256 the manifest gives, holding the
    /// file under its own name. Two entries whose files share a name (model.safetensors) never meet, and a republished
    /// file (a new hash) is fetched anew.
    /// </summary>
    public static string PathOf(PretrainedWeights weights) => Path.Combine(Folder, weights.Sha256.ToLowerInvariant(), weights.FileName);

    /// <summary>Whether the weights' file is in the cache (its content is checked when it is used).</summary>
    public static bool IsCached(PretrainedWeights weights) => File.Exists(PathOf(weights));

    /// <summary>The weights' file in the cache, downloaded and checked first if it is not there yet.</summary>
    /// <param name="weights">The entry.</param>
    /// <param name="progress">Told how the download goes (not called on a cache hit).</param>
    /// <param name="timeout">How long the server may stay silent (no headers, or no bytes) before the attempt fails; default 100 s.</param>
    /// <param name="cancellationToken">Stops the download (the partial file stays, to be continued).</param>
    /// <remarks>A file found in the cache is used when its SHA-256 was checked since it last changed (a stamp beside it
    /// records its length and time); otherwise it is hashed again, and one that does not match is fetched anew.</remarks>
    /// <exception cref="WeightsDownloadException">The file could not be fetched (the message names the URL and where to put the file by hand) or its SHA-256 is wrong (the file is deleted).</exception>
    public static string Get(PretrainedWeights weights, Action<WeightsDownloadProgress>? progress = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var target = PathOf(weights);
        if (VerifiedStamp.Matches(target, weights.Sha256))
            return target;
        // Task.Run: no synchronization context of the caller is captured (a UI thread calling this cannot deadlock it).
        return Task.Run(() => DownloadAsync(weights, target, progress, timeout ?? TimeSpan.FromSeconds(100), cancellationToken), cancellationToken).GetAwaiter().GetResult();
    }

    static async Task<string> DownloadAsync(PretrainedWeights weights, string target, Action<WeightsDownloadProgress>? progress, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var fileLock = await LockAsync(target + ".lock", cancellationToken);
        if (VerifiedStamp.Matches(target, weights.Sha256))
            return target; // another process fetched it while this one waited
        // A file there that was not checked since it changed (placed by hand, or changed on disk), or one placed by hand
        // where older releases kept it (the cache folder itself): used if its content is the entry's, else fetched anew.
        foreach (var candidate in new[] { target, Path.Combine(Folder, weights.FileName) })
        {
            if (!File.Exists(candidate))
                continue;
            if (HashOf(candidate).StartsWith(weights.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                if (candidate != target)
                    File.Move(candidate, target, overwrite: true);
                VerifiedStamp.Write(target, weights.Sha256);
                return target;
            }
            if (candidate == target)
                File.Delete(target);
        }
        var partial = target + ".partial";
        Exception? last = null;
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                await FetchAsync(weights, partial, progress, timeout, cancellationToken);
                last = null;
                break;
            }
            catch (Exception e) when (Transient(e) && !cancellationToken.IsCancellationRequested)
            {
                last = e; // cut or stalled: continue where it stopped
            }
        }
        if (last is not null)
            throw Unreachable(weights, target, last);
        Verify(weights, partial);
        File.Move(partial, target, overwrite: true);
        VerifiedStamp.Write(target, weights.Sha256);
        return target;
    }

    // Appends what is missing to the partial file (all of it, or from its length on with a Range request).
    static async Task FetchAsync(PretrainedWeights weights, string partial, Action<WeightsDownloadProgress>? progress, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (LocalPath(weights.Url) is { } local)
        {
            if (!File.Exists(local))
                throw new WeightsDownloadException($"The file {local} named for the weights {weights.Name} does not exist. Check the manifest's url, or copy the file to {PathOf(weights)}.");
            await using var source = File.OpenRead(local);
            source.Seek(Math.Min(offset, source.Length), SeekOrigin.Begin);
            await CopyAsync(source, partial, append: offset > 0 && offset <= source.Length, source.Length, weights.Name, progress, timeout, cancellationToken);
            return;
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, weights.Url);
        if (offset > 0)
            request.Headers.Range = new RangeHeaderValue(offset, null);
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headers.CancelAfter(timeout);
        HttpResponseMessage response;
        try
        {
            response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the server sent no answer within {timeout.TotalSeconds:0} s", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset > 0)
                return; // the partial file is already whole: the check decides
            if (!response.IsSuccessStatusCode)
                throw new WeightsDownloadException($"The server answered {(int)response.StatusCode} ({response.ReasonPhrase}) for {weights.Url}, the weights {weights.Name}. " +
                    $"Check the URL (a mirror can be named with {WeightsRegistry.ManifestVariable}), or place the file {weights.FileName} in {Folder} by hand.");
            var resumed = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == offset;
            var total = resumed ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength;
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await CopyAsync(body, partial, resumed, total, weights.Name, progress, timeout, cancellationToken);
        }
    }

    static async Task CopyAsync(Stream source, string partial, bool append, long? total, string name, Action<WeightsDownloadProgress>? progress,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None);
        var buffer = new byte[1 << 16];
        var received = file.Length;
        var reported = -1L;
        while (true)
        {
            using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            read.CancelAfter(timeout);
            int count;
            try
            {
                count = await source.ReadAsync(buffer, read.Token);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the server sent nothing for {timeout.TotalSeconds:0} s", e);
            }
            if (count == 0)
                break;
            await file.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
            received += count;
            // About every 1% (or every 4 MB when the size is unknown).
            if (progress is not null && received - reported >= Math.Max(1 << 16, (total ?? 400L << 20) / 100))
            {
                progress(new WeightsDownloadProgress(name, received, total));
                reported = received;
            }
        }
        await file.FlushAsync(cancellationToken);
        if (total is { } expected && received < expected)
            throw new IOException($"the connection ended after {received:N0} of {expected:N0} bytes");
        progress?.Invoke(new WeightsDownloadProgress(name, received, total ?? received));
    }

    static void Verify(PretrainedWeights weights, string partial)
    {
        var actual = HashOf(partial);
        if (actual.StartsWith(weights.Sha256, StringComparison.OrdinalIgnoreCase))
            return;
        File.Delete(partial);
        throw new WeightsDownloadException($"The SHA-256 of {weights.FileName} (the weights {weights.Name} from {weights.Url}) is {actual}, expected {weights.Sha256}: " +
            "the download was damaged, or the file at that URL is not the one the manifest describes. The file was deleted; try again, or check the manifest's url and sha256.");
    }

    static WeightsDownloadException Unreachable(PretrainedWeights weights, string target, Exception cause) => cause as WeightsDownloadException
        ?? new WeightsDownloadException($"The weights {weights.Name} could not be downloaded from {weights.Url} ({cause.Message}). " +
            $"Without internet access, place the file {weights.FileName} in {Folder} by hand (e.g. copied from a machine where 'efficientnet weights download {weights.Name}' ran; it is then {target}), " +
            $"or name a mirror with {WeightsRegistry.ManifestVariable}. What was received so far is kept and continued next time.", cause);

    /// <summary>A file's SHA-256, in lower-case hex.</summary>
    internal static string HashOf(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    static bool Transient(Exception e) => e is HttpRequestException or IOException or TimeoutException;

    static string? LocalPath(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? (uri.IsFile ? uri.LocalPath : null) : Path.GetFullPath(url);

    // One process at a time per file: the lock file is held open without sharing, and freed by the OS if a process dies.
    static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }
}
