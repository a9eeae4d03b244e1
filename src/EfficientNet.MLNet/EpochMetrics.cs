namespace EfficientNet.MLNet;

/// <summary>One epoch of training, as reported to the progress callback and kept in the transformer's history.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss (with label smoothing) over the epoch's images.</param>
/// <param name="TrainAccuracy">Fraction of training images classified correctly during the epoch (with augmentation); for a
/// multi-label model the fraction of image-label decisions right at probability 0.5 (1 - Hamming loss).</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation images (multi-label: binary cross-entropy summed over the
/// labels), or null without validation.</param>
/// <param name="ValidationAccuracy">Fraction of validation images classified correctly (multi-label: of image-label decisions
/// right at 0.5), or null without validation.</param>
/// <param name="LearningRate">The learning rate at the end of the epoch.</param>
/// <param name="ImagesPerSecond">Training images per second in this epoch.</param>
/// <param name="Elapsed">Time since Fit started.</param>
public sealed record EpochMetrics(
    int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double ImagesPerSecond, TimeSpan Elapsed)
{
    /// <summary>The image size this epoch trained at: the trainer's, or a progressive-learning stage's (null in histories saved before it was recorded).</summary>
    public int? TrainImageSize { get; init; }

    /// <summary>A multi-label model's mean average precision on the validation images (over the labels they have); null otherwise.</summary>
    public double? ValidationMeanAveragePrecision { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        FormattableString.Invariant($"epoch {Epoch}: train loss {TrainLoss:0.0000}, accuracy {TrainAccuracy:P1}") +
        (ValidationLoss is { } loss ? FormattableString.Invariant($"; validation loss {loss:0.0000}, accuracy {ValidationAccuracy:P1}") : "") +
        (ValidationMeanAveragePrecision is { } map ? FormattableString.Invariant($", mAP {map:0.0000}") : "") +
        FormattableString.Invariant($"; lr {LearningRate:0.######}, {ImagesPerSecond:0.0} img/s, {Elapsed:hh\\:mm\\:ss}") +
        (TrainImageSize is { } size ? FormattableString.Invariant($", trained at {size} px") : "");
}
