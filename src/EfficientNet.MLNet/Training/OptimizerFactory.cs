using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>Builds the chosen optimizer over the parameter groups, and sets each group's learning rate.</summary>
internal static class OptimizerFactory
{
    public static optim.Optimizer Create(OptimizerKind kind, ParameterGroups groups, double learningRate, double momentum) => kind switch
    {
        OptimizerKind.AdamW => optim.AdamW(groups.Groups.Select(g => new AdamW.ParamGroup(g.Parameters, lr: learningRate * g.LearningRateFactor, weight_decay: g.WeightDecay)),
            lr: learningRate),
        OptimizerKind.Sgd => optim.SGD(groups.Groups.Select(g => new SGD.ParamGroup(g.Parameters, lr: learningRate * g.LearningRateFactor, momentum: momentum, nesterov: momentum > 0, weight_decay: g.WeightDecay)),
            learningRate, momentum: momentum, nesterov: momentum > 0),
        // The paper: RMSProp with decay 0.9 and momentum 0.9 (TensorFlow's epsilon 1e-3).
        OptimizerKind.RmsProp => optim.RMSProp(groups.Groups.Select(g => new RMSProp.ParamGroup(g.Parameters, lr: learningRate * g.LearningRateFactor, alpha: 0.9, eps: 1e-3, weight_decay: g.WeightDecay, momentum: momentum)),
            lr: learningRate, alpha: 0.9, eps: 1e-3, momentum: momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer."),
    };

    /// <summary>Each group's rate: <paramref name="learningRate"/> times the group's factor.</summary>
    public static void SetLearningRate(optim.Optimizer optimizer, ParameterGroups groups, double learningRate)
    {
        var index = 0;
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = learningRate * groups.Groups[index++].LearningRateFactor;
    }
}
