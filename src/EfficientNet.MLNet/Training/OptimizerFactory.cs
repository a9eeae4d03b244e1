using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>Builds the chosen optimizer over the trainable parameters.</summary>
internal static class OptimizerFactory
{
    public static optim.Optimizer Create(OptimizerKind kind, IEnumerable<Parameter> parameters, double learningRate, double weightDecay, double momentum) => kind switch
    {
        OptimizerKind.AdamW => optim.AdamW(parameters, lr: learningRate, weight_decay: weightDecay),
        OptimizerKind.Sgd => optim.SGD(parameters, learningRate, momentum: momentum, nesterov: momentum > 0, weight_decay: weightDecay),
        // The paper: RMSProp with decay 0.9 and momentum 0.9 (TensorFlow's epsilon 1e-3).
        OptimizerKind.RmsProp => optim.RMSProp(parameters, lr: learningRate, alpha: 0.9, eps: 1e-3, weight_decay: weightDecay, momentum: momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer."),
    };

    public static void SetLearningRate(optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = learningRate;
    }
}
