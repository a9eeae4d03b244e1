using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

public class ParameterGroupsTests
{
    [Fact]
    public void Norm_and_bias_parameters_get_their_own_weight_decay_and_layer_decay_lowers_the_rate_towards_the_stem()
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 3);
        var parameters = model.parameters().ToList();

        var groups = ParameterGroups.Of(model, parameters, weightDecay: 0.05, normAndBiasWeightDecay: 0, layerDecay: 0.5);

        Assert.Equal(parameters.Count, groups.Groups.Sum(g => g.Parameters.Count));
        var named = model.named_parameters().ToDictionary(p => (object)p.parameter, p => p.name, ReferenceEqualityComparer.Instance);
        foreach (var (members, decay, factor) in groups.Groups)
            foreach (var parameter in members)
            {
                var name = named[parameter];
                Assert.Equal(parameter.dim() == 1 ? 0 : 0.05, decay);
                // features.0 (stem) to features.8 (head convolution), then the classifier at 1.
                var expectedFactor = name.StartsWith("classifier.", StringComparison.Ordinal) ? 1 : Math.Pow(0.5, 9 - int.Parse(name.Split('.')[1]));
                Assert.Equal(expectedFactor, factor, 12);
            }
        Assert.Contains(groups.Groups, g => g.Parameters.Any(p => named[p] == "features.0.1.weight") && g.WeightDecay == 0);
    }

    [Fact]
    public void Without_either_option_there_is_one_group_and_the_optimizer_sets_each_groups_rate()
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 3);
        Assert.Single(ParameterGroups.Of(model, model.parameters().ToList(), 0.01, null, 1).Groups);

        var groups = ParameterGroups.Of(model, model.parameters().ToList(), 0.01, 0, 0.8);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.AdamW, groups, 1e-3, 0.9);
        OptimizerFactory.SetLearningRate(optimizer, groups, 2e-3);

        Assert.Equal(groups.Groups.Select(g => 2e-3 * g.LearningRateFactor), optimizer.ParamGroups.Select(g => g.LearningRate));
        Assert.Equal(groups.Groups.Count, optimizer.ParamGroups.Count());
    }
}
