namespace EfficientNet.MLNet.Weights;

/// <summary>How far a download of pretrained weights is.</summary>
/// <param name="Name">The weights' name.</param>
/// <param name="BytesReceived">Bytes in the cache so far (a resumed download starts with what it had).</param>
/// <param name="TotalBytes">The file's size, when the server says it.</param>
public sealed record WeightsDownloadProgress(string Name, long BytesReceived, long? TotalBytes)
{
    /// <summary>The fraction done, 0 to 1, when the size is known.</summary>
    public double? Fraction => TotalBytes is > 0 ? (double)BytesReceived / TotalBytes.Value : null;
}
