namespace EfficientNet.MLNet;

/// <summary>
/// Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019), as timm applies them per batch: each image is combined with
/// the image at the mirrored position of the batch, either blended (mixup: a fraction lambda of one plus 1 - lambda of
/// the other) or with a box of the other pasted in (CutMix: lambda is the area kept); the loss is taken against the
/// same mixture of the two (label-smoothed) targets. Lambda is drawn from Beta(alpha, alpha) for each batch.
/// </summary>
/// <param name="MixupAlpha">Beta's alpha for mixup; 0 turns mixup off.</param>
/// <param name="CutMixAlpha">Beta's alpha for CutMix; 0 turns CutMix off.</param>
/// <param name="Probability">The chance that a batch is mixed at all.</param>
/// <param name="SwitchProbability">With both on: the chance that a mixed batch uses CutMix rather than mixup.</param>
/// <param name="OffEpoch">Train without mixing from this epoch on (the last epochs on clean images, as timm's
/// mixup_off_epoch); null: mix in every epoch.</param>
public sealed record Mixup(double MixupAlpha = 0.2, double CutMixAlpha = 1.0, double Probability = 1.0, double SwitchProbability = 0.5, int? OffEpoch = null);
