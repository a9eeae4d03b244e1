namespace EfficientNet.MLNet.WebService;

/// <summary>
/// The model being served, reloaded when its file changes: a watcher sees the change, the new zip is loaded and warmed
/// up beside the old one, then swapped in; requests in flight finish on the model they started with. A zip that does not
/// load leaves the old model serving (and the reason in the log and /health).
/// </summary>
public sealed class ModelHolder : IDisposable
{
    private readonly string path;
    private readonly ILogger<ModelHolder> log;
    private readonly FileSystemWatcher watcher;
    private readonly SemaphoreSlim reloading = new(1, 1);
    private ServedModel current;
    private Timer? pending;
    private int disposed;

    public ModelHolder(string path, ILogger<ModelHolder> log)
    {
        this.path = System.IO.Path.GetFullPath(path);
        this.log = log;
        current = ServedModel.Load(this.path, version: 1);
        log.LogInformation("Serving {Path} (EfficientNet-{Version}, {Classes} classes)", this.path, current.Classifier.Version, current.Classifier.ClassNames.Count);
        watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(this.path)!, System.IO.Path.GetFileName(this.path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => ReloadSoon();
        watcher.Created += (_, _) => ReloadSoon();
        watcher.Renamed += (_, _) => ReloadSoon();
        watcher.EnableRaisingEvents = true;
    }

    /// <summary>Why the last reload failed, or null.</summary>
    public string? LastReloadError { get; private set; }

    /// <summary>The model to serve a request with, taken for its use: release it when the request ends.</summary>
    public ServedModel Acquire()
    {
        while (true)
        {
            var model = Volatile.Read(ref current);
            if (model.TryAcquire())
                return model;
        }
    }

    /// <summary>The version being served (1 at start, one more for each reload taken).</summary>
    public int Version => Volatile.Read(ref current).Version;

    /// <summary>
    /// Loads the file again now (also what the watcher does, a moment after the last change event). Never throws: a file
    /// that does not load, whatever the reason, leaves the current model serving and the reason in
    /// <see cref="LastReloadError"/>. After <see cref="Dispose"/> it does nothing.
    /// </summary>
    public async Task ReloadAsync()
    {
        await reloading.WaitAsync();
        try
        {
            if (Volatile.Read(ref disposed) == 1)
                return;
            var next = ServedModel.Load(path, current.Version + 1);
            var previous = Interlocked.Exchange(ref current, next);
            previous.Release(); // disposed once its last request ends
            LastReloadError = null;
            log.LogInformation("Reloaded {Path}: version {Version}", path, next.Version);
        }
        catch (Exception e)
        {
            // Any failure (a damaged zip, another library's model, out of memory while loading) keeps the model serving.
            LastReloadError = e is ModelFileException or IOException or EfficientNetException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            log.LogWarning(e, "Kept version {Version}: {Problem}", current.Version, LastReloadError);
        }
        finally
        {
            reloading.Release();
        }
    }

    // Writers touch a file several times: reload once, half a second after the last event; nothing after Dispose.
    void ReloadSoon()
    {
        lock (watcher)
        {
            if (disposed == 1)
                return;
            pending?.Dispose();
            pending = new Timer(_ => _ = ReloadAsync(), null, TimeSpan.FromMilliseconds(500), Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Stops watching, waits for a reload under way, and releases the model (disposed after its last request).</summary>
    public void Dispose()
    {
        lock (watcher)
        {
            if (disposed == 1)
                return;
            Volatile.Write(ref disposed, 1);
            pending?.Dispose();
        }
        watcher.Dispose();
        reloading.Wait(); // a reload in flight finishes (and sees disposed) before the model is released
        try
        {
            current.Release();
        }
        finally
        {
            reloading.Release();
        }
    }
}
