namespace EfficientNet.MLNet.Weights;

/// <summary>A weights manifest (built in, or named by EFFICIENTNET_WEIGHTS_MANIFEST) that cannot be used: which file, which entry and field, and why.</summary>
public sealed class WeightsManifestException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    public WeightsManifestException(string source, string problem, Exception? innerException = null)
        : base($"The weights manifest {source} cannot be used: {problem}.", innerException)
    {
        Source = source;
    }

    /// <summary>The manifest file (or "the built-in manifest").</summary>
    public new string Source { get; }
}
