namespace EfficientNet.MLNet.Weights;

/// <summary>A weights file is malformed: the message says which file, what is wrong, and what to do.</summary>
public sealed class WeightsFormatException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file that could not be read.</param>
    /// <param name="problem">What is wrong, e.g. "the header length 9999 exceeds the file size 120".</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public WeightsFormatException(string filePath, string problem, Exception? innerException = null)
        : this(filePath, problem, "safetensors", innerException)
    {
    }

    /// <summary>Creates the exception for a file of another format.</summary>
    /// <param name="filePath">The file that could not be read.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="format">What the file was read as, e.g. "PyTorch state_dict (torch.save)".</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public WeightsFormatException(string filePath, string problem, string format, Exception? innerException)
        : base($"'{filePath}' is not a valid {format} file: {problem}. Re-export it (see the README's weight conversion recipe) or check that the download or copy is complete.", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
