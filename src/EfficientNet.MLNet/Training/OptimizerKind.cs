namespace EfficientNet.MLNet.Training;

/// <summary>The optimizers the trainer offers.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay.</summary>
    AdamW,
    /// <summary>Stochastic gradient descent with Nesterov momentum.</summary>
    Sgd,
    /// <summary>RMSProp, as the EfficientNet paper trained (decay 0.9, momentum 0.9).</summary>
    RmsProp,
}

/// <summary>What the learning rate does after the warm-up.</summary>
public enum LearningRateDecay
{
    /// <summary>Half a cosine from the peak to 0 over the remaining steps.</summary>
    Cosine,
    /// <summary>Stays at the peak.</summary>
    Constant,
}
