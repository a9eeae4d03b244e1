namespace EfficientNet.MLNet;

/// <summary>What the learning rate does after the warm-up.</summary>
public enum LearningRateDecay
{
    /// <summary>Half a cosine from the peak to 0 over the remaining steps.</summary>
    Cosine,
    /// <summary>Stays at the peak.</summary>
    Constant,
}
