using EfficientNet.MLNet.Network;
using TorchSharp.Modules;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// The optimizer's parameter groups: by depth (layer-wise learning-rate decay: the classifier at factor 1, the last
/// feature stage at decay, the one before at decay squared, ..., the stem lowest) and by kind (one-dimensional
/// parameters, i.e. batch-norm scales and shifts and biases, take the norm-and-bias weight decay, as torchvision's
/// norm_weight_decay). Each group's learning rate is the schedule's rate times its factor.
/// </summary>
/// <param name="Groups">Each group's parameters, weight decay and learning-rate factor, in the optimizer's order.</param>
internal sealed record ParameterGroups(IReadOnlyList<(IReadOnlyList<Parameter> Parameters, double WeightDecay, double LearningRateFactor)> Groups)
{
    /// <summary>
    /// The groups of <paramref name="parameters"/> (a subset of the model's, e.g. the trainable ones); empty groups are
    /// left out. With decay 1 and no separate norm-and-bias decay, one group.
    /// </summary>
    public static ParameterGroups Of(EfficientNetModel model, IReadOnlyCollection<Parameter> parameters, double weightDecay, double? normAndBiasWeightDecay, double layerDecay)
    {
        var wanted = parameters.ToHashSet(ReferenceEqualityComparer.Instance);
        var named = model.named_parameters().Where(p => wanted.Contains(p.parameter)).ToList();
        var featureStages = named.Select(p => FeatureIndex(p.name)).Where(i => i >= 0).DefaultIfEmpty(0).Max() + 1;
        var groups = named
            .GroupBy(p => (Depth: FeatureIndex(p.name) is var i and >= 0 ? i : featureStages, OneDimensional: p.parameter.dim() <= 1))
            .OrderBy(g => g.Key.Depth).ThenBy(g => g.Key.OneDimensional)
            .Select(g => ((IReadOnlyList<Parameter>)g.Select(p => p.parameter).ToList(),
                g.Key.OneDimensional ? normAndBiasWeightDecay ?? weightDecay : weightDecay,
                Math.Pow(layerDecay, featureStages - g.Key.Depth)))
            .ToList();
        // One group when nothing differs: the optimizer's state then looks as it always did.
        if (groups.Select(g => (g.Item2, g.Item3)).Distinct().Count() == 1)
            return new ParameterGroups(new[] { ((IReadOnlyList<Parameter>)named.Select(p => p.parameter).ToList(), weightDecay, groups[0].Item3) });
        return new ParameterGroups(groups);
    }

    // "features.3.1.block..." -> 3; anything else (the classifier) -> -1.
    static int FeatureIndex(string name)
    {
        var parts = name.Split('.');
        return parts.Length > 1 && parts[0] == "features" && int.TryParse(parts[1], out var index) ? index : -1;
    }
}
