namespace EfficientNet.MLNet.Weights;

/// <summary>Pretrained weights that could not be fetched or did not check out: the URL, the cache file, and what to do.</summary>
public sealed class WeightsDownloadException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    public WeightsDownloadException(string message, Exception? innerException = null) : base(message, innerException) { }
}
