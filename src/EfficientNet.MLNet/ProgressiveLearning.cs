namespace EfficientNet.MLNet;

/// <summary>
/// EfficientNetV2's progressive learning (Tan and Le, 2021, section 4.2): training is split into <see cref="Stages"/>
/// equal runs of epochs; the first trains on small images with weak regularization, and the image size, the dropout
/// and the augmentation strength grow linearly to the trainer's own values in the last stage. Small images make the
/// early epochs fast; weak regularization suits them (the paper's finding that accuracy drops when small images meet
/// strong regularization). Validation always runs at the final size.
/// </summary>
/// <param name="StartImageSize">The first stage's image size in pixels (at least 32, at most the trainer's ImageSize;
/// rounded to a multiple of 8 in between).</param>
/// <param name="Stages">How many stages (the paper uses 4); at most the number of epochs.</param>
/// <param name="StartDropoutRate">The first stage's dropout before the classifier (the paper's V2-S: 0.1 growing to 0.3).</param>
/// <param name="StartRandomCropMinimumScale">The first stage's smallest random-crop area fraction (weaker augmentation
/// keeps more of the image), growing to the trainer's RandomCropMinimumScale.</param>
public sealed record ProgressiveLearning(int StartImageSize = 128, int Stages = 4, double StartDropoutRate = 0.1, double StartRandomCropMinimumScale = 0.9);
