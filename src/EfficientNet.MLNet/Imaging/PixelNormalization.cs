namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// How 0..255 pixels become the network's input: (x / 255 - mean) / std per channel (R, G, B). Part of the model
/// (the zip and the ONNX export carry it), because pretrained weights expect the values they were trained with.
/// </summary>
/// <param name="Mean">Per-channel mean of pixel values scaled to 0..1.</param>
/// <param name="Std">Per-channel standard deviation.</param>
public sealed record PixelNormalization(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>ImageNet's mean and standard deviation, which torchvision's EfficientNet V1 weights use.</summary>
    public static PixelNormalization ImageNet { get; } = new(new[] { 0.485f, 0.456f, 0.406f }, new[] { 0.229f, 0.224f, 0.225f });

    /// <summary>Throws <see cref="ArgumentException"/> unless both have 3 finite values and every std is positive.</summary>
    public PixelNormalization Validate()
    {
        if (Mean is not { Count: 3 } || Std is not { Count: 3 } || !Mean.All(float.IsFinite) || !Std.All(s => float.IsFinite(s) && s > 0))
            throw new ArgumentException($"A normalization needs 3 finite means and 3 positive standard deviations (R, G, B); got mean [{string.Join(", ", Mean ?? Array.Empty<float>())}], std [{string.Join(", ", Std ?? Array.Empty<float>())}].");
        return this;
    }

    /// <summary>The same values (records compare lists by reference).</summary>
    public bool SameAs(PixelNormalization other) => Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);
}
