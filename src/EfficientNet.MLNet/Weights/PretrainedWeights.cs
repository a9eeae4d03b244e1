using EfficientNet.MLNet.Imaging;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// One set of published weights and everything needed to use them: where to get them, how to check them, how the
/// images they were evaluated on were prepared, and their classes. Listed by <see cref="WeightsRegistry"/>.
/// </summary>
/// <param name="Name">The name to ask for, e.g. "efficientnet_b0.IMAGENET1K_V1" (torchvision's enum names).</param>
/// <param name="Architecture">The variant the weights fit, e.g. "b0".</param>
/// <param name="IsDefault">Whether "imagenet" means these weights for their architecture (torchvision's DEFAULT).</param>
/// <param name="Url">Where the file is: https, http, file:// or a path.</param>
/// <param name="Sha256">The file's SHA-256 in hex, or a prefix of at least 8 digits (what torch.hub checks).</param>
/// <param name="ResizeSize">Evaluation: the shorter side is resized to this.</param>
/// <param name="CropSize">Evaluation: the centre square of this side is what the network sees.</param>
/// <param name="Interpolation">Evaluation: the resize's filter.</param>
/// <param name="Normalization">The mean and standard deviation the weights expect.</param>
/// <param name="Categories">The class names, in the classifier's order.</param>
/// <param name="Top1Accuracy">Published ImageNet top-1 accuracy in percent, if known.</param>
/// <param name="Megabytes">The file's size in MB, if known.</param>
/// <param name="Description">Where the weights come from.</param>
public sealed record PretrainedWeights(
    string Name, string Architecture, bool IsDefault, string Url, string Sha256,
    int ResizeSize, int CropSize, ResizeInterpolation Interpolation, PixelNormalization Normalization,
    IReadOnlyList<string> Categories, double? Top1Accuracy = null, double? Megabytes = null, string? Description = null)
{
    /// <summary>The file's name in the cache: the last segment of the URL (torchvision's carry the hash prefix).</summary>
    public string FileName => Path.GetFileName(Uri.TryCreate(Url, UriKind.Absolute, out var uri) && !uri.IsFile ? uri.AbsolutePath : Url);
}
