namespace EfficientNet.MLNet;

/// <summary>A model zip that cannot be loaded: missing, damaged, from a newer version, or with weights that do not fit.</summary>
public sealed class ModelFileException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="problem">What is wrong, as a sentence.</param>
    /// <param name="innerException">The error that revealed it.</param>
    public ModelFileException(string path, string problem, Exception? innerException = null)
        : base($"The model file '{path}' could not be loaded: {problem}", innerException)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
