namespace EfficientNet.MLNet;

/// <summary>
/// An automatic augmentation policy applied to each training image after the random resized crop and flip: photometric
/// and geometric operations (shear, translation, rotation, brightness, colour, contrast, sharpness, posterize, solarize,
/// autocontrast, equalize, or none), drawn per image from the run's seeded random source.
/// </summary>
public enum AugmentationPolicy
{
    /// <summary>Only the random resized crop and flip.</summary>
    None,

    /// <summary>
    /// TrivialAugment (Müller and Hutter, 2021; torchvision's TrivialAugmentWide): one operation per image, its strength
    /// drawn uniformly from the wide ranges. Nothing to tune.
    /// </summary>
    TrivialAugmentWide,

    /// <summary>
    /// RandAugment (Cubuk et al., 2020): <c>RandAugmentOperations</c> operations per image at the fixed strength
    /// <c>RandAugmentMagnitude</c> (of 31 levels, as torchvision).
    /// </summary>
    RandAugment,

    /// <summary>
    /// AugMix (Hendrycks et al., 2020; torchvision's AugMix transform, without the paper's consistency loss): three
    /// chains of one to three operations at up to severity 3 of 10, mixed with Dirichlet(1) weights, and the mixture
    /// blended with the original image by a Beta(1, 1) weight. Keeps more of the image than the others.
    /// </summary>
    AugMix,
}
