using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Weights;

/// <summary>What a "weights" option means: a file, or a name the registry knows (fetched into the cache if needed).</summary>
internal static class WeightsResolver
{
    /// <summary>Whether the value can be resolved without fetching anything: an existing file, or a known name.</summary>
    public static bool IsKnown(string nameOrPath, string? version) =>
        File.Exists(nameOrPath) || WeightsRegistry.Current.Find(nameOrPath, version) is not null;

    /// <summary>The weights' file and, when the weights are a known entry (by name, or a file whose name and content are an entry's), that entry.</summary>
    /// <exception cref="ArgumentException">Neither a file nor a known name, or weights of another variant than <paramref name="version"/>.</exception>
    /// <exception cref="WeightsDownloadException">A known name whose file could not be fetched.</exception>
    public static (string Path, PretrainedWeights? Entry) Resolve(string nameOrPath, string? version, Action<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var registry = WeightsRegistry.Current;
        var entry = File.Exists(nameOrPath) ? registry.FindByFile(nameOrPath) : registry.Get(nameOrPath, version);
        if (entry is not null && version is not null && entry.Architecture != EfficientNetVariants.Get(version).Name)
            throw new ArgumentException($"The weights {entry.Name} are for EfficientNet-{entry.Architecture}, not {version}: use version \"{entry.Architecture}\", or weights for {version}.", nameof(version));
        return File.Exists(nameOrPath) ? (nameOrPath, entry) : (WeightsCache.Get(entry!, progress, cancellationToken: cancellationToken), entry);
    }

    /// <summary>A progress callback that reports every tenth of a download as a line of text.</summary>
    public static Action<WeightsDownloadProgress> InTenths(Action<string> report)
    {
        var lastTenth = -1;
        return progress =>
        {
            var tenth = progress.Fraction is { } fraction ? (int)(fraction * 10) : -1;
            if (tenth == lastTenth && tenth >= 0)
                return;
            lastTenth = tenth;
            report(progress.TotalBytes is { } total
                ? FormattableString.Invariant($"Downloading {progress.Name}: {100.0 * progress.BytesReceived / total:0}% ({progress.BytesReceived / 1048576.0:0.0} of {total / 1048576.0:0.0} MB)")
                : FormattableString.Invariant($"Downloading {progress.Name}: {progress.BytesReceived / 1048576.0:0.0} MB"));
        };
    }
}
