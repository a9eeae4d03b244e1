namespace EfficientNet.MLNet;

/// <summary>
/// Test-time augmentation: scoring averages the class probabilities of several views of each image. It costs one
/// forward pass per view and usually gains a little accuracy, most on small data.
/// </summary>
public enum TestTimeAugmentation
{
    /// <summary>The image as it is (one pass).</summary>
    None,

    /// <summary>The image and its mirror image (two passes).</summary>
    HorizontalFlip,

    /// <summary>
    /// The image, its four corners and its centre (7/8 of the side each, scaled back to the image size), each also
    /// mirrored (twelve passes).
    /// </summary>
    FlipAndFiveCrops,

    /// <summary>
    /// The image, its four corners and its centre (7/8 of the side each, scaled back to the image size), not mirrored
    /// (six passes): for images whose mirror image is another thing (digits, text, signs).
    /// </summary>
    FiveCrops,
}
