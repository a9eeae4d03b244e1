namespace EfficientNet.MLNet.Imaging;

/// <summary>
/// The filter of a resize, as torchvision's Resize applies it to a PIL image (antialiased when shrinking): what
/// pretrained weights were evaluated with.
/// </summary>
public enum ResizeInterpolation
{
    /// <summary>A triangle filter (support 1).</summary>
    Bilinear,
    /// <summary>A cubic filter with a = -0.5 (support 2).</summary>
    Bicubic,
}
