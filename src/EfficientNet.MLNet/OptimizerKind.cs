namespace EfficientNet.MLNet;

/// <summary>The optimizers the trainer offers.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay.</summary>
    AdamW,
    /// <summary>Stochastic gradient descent with Nesterov momentum.</summary>
    Sgd,
    /// <summary>
    /// PyTorch's RMSProp with smoothing 0.9, the Momentum option and epsilon 1e-3. Not the paper's optimizer exactly:
    /// the paper used TensorFlow's RMSProp (epsilon inside the square root, squares starting at 1) with weight decay
    /// 1e-5 and a learning rate decayed by 0.97 every 2.4 epochs; here weight decay and schedule are the trainer's options.
    /// </summary>
    RmsProp,
}
