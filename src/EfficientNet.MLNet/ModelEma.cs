namespace EfficientNet.MLNet;

/// <summary>
/// An exponential moving average of the weights (and batch-norm statistics), updated after every optimizer step:
/// average = decay x average + (1 - decay) x weights. When on, the average is what validation, early stopping and the
/// final model use, and checkpoints save it beside the weights. It smooths the noise of the last steps, which helps
/// most with small batches and data (timm's and torchvision's recipes keep one).
/// </summary>
/// <param name="Decay">The average's decay per step (closer to 1: a longer memory).</param>
/// <param name="Warmup">Start with a short memory: the decay of step t is min(Decay, (1 + t) / (10 + t)), as
/// TensorFlow's ExponentialMovingAverage with num_updates, so that the average of a short run is not dominated by its
/// random start.</param>
public sealed record ModelEma(double Decay = 0.999, bool Warmup = true)
{
    /// <summary>The decay applied at optimizer step <paramref name="step"/> (0-based).</summary>
    public double DecayAt(long step) => Warmup ? Math.Min(Decay, (1.0 + step) / (10.0 + step)) : Decay;
}
