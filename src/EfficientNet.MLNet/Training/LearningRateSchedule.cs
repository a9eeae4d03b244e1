namespace EfficientNet.MLNet.Training;

/// <summary>Linear warm-up to the peak, then cosine decay to 0 (or constant), by optimizer step.</summary>
internal sealed record LearningRateSchedule(double Peak, long WarmupSteps, long TotalSteps, LearningRateDecay Decay)
{
    /// <summary>The learning rate for 0-based step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
            return Peak * (step + 1) / WarmupSteps;
        if (Decay == LearningRateDecay.Constant || TotalSteps <= WarmupSteps)
            return Peak;
        var progress = Math.Min(1.0, (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps));
        return Peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
