namespace EfficientNet.MLNet.Training;

/// <summary>What one epoch trains with: its image size, classifier dropout and random-crop minimum scale.</summary>
internal sealed record ProgressiveStage(int ImageSize, double DropoutRate, double RandomCropMinimumScale)
{
    /// <summary>
    /// The stage of <paramref name="epoch"/> (1-based) out of <paramref name="epochs"/>: epochs split into equal stages,
    /// each setting interpolated linearly from <paramref name="progressive"/>'s start to the final value (a lone stage
    /// trains at the final values). Without progressive learning, every epoch trains at the final values.
    /// </summary>
    public static ProgressiveStage Of(ProgressiveLearning? progressive, int epoch, int epochs, int finalSize, double finalDropout, double finalCropScale)
    {
        if (progressive is null || progressive.Stages <= 1)
            return new ProgressiveStage(finalSize, finalDropout, finalCropScale);
        var stage = Math.Min(progressive.Stages - 1, (epoch - 1) * progressive.Stages / epochs);
        var t = stage / (double)(progressive.Stages - 1);
        double Between(double start, double end) => start + (end - start) * t;
        var size = stage == progressive.Stages - 1
            ? finalSize
            : Math.Min(finalSize, Math.Max(32, (int)Math.Round(Between(progressive.StartImageSize, finalSize) / 8) * 8));
        return new ProgressiveStage(size, Between(progressive.StartDropoutRate, finalDropout), Between(progressive.StartRandomCropMinimumScale, finalCropScale));
    }
}
