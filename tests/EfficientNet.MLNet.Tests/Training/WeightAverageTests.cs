using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Training;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Training;

public class WeightAverageTests
{
    [Fact]
    public void After_n_steps_the_average_equals_the_formula_computed_by_hand()
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 2, stochasticDepthProbability: 0, dropoutRate: 0);
        var settings = new ModelEma(Decay: 0.9, Warmup: true);
        var weights = WeightAverage.Start(model);
        var average = new WeightAverage(settings, model, weights);
        var bias = model.state_dict()["classifier.1.bias"];
        var counter = model.state_dict()["features.0.1.num_batches_tracked"];
        double expected = bias[0].item<float>();

        using (no_grad())
            for (var step = 0; step < 12; step++)
            {
                // The "trained" value of step t is t + 1; the counter counts steps.
                bias.fill_(step + 1.0);
                counter.fill_(step + 1);
                average.Update(step);
                var decay = Math.Min(0.9, (1.0 + step) / (10.0 + step));
                expected = decay * expected + (1 - decay) * (step + 1);
            }

        Assert.Equal(expected, weights["classifier.1.bias"][0].item<float>(), 4);
        Assert.Equal(12, weights["features.0.1.num_batches_tracked"].item<long>());
        // Without warm-up the decay is constant from the first step.
        Assert.Equal(0.9, new ModelEma(0.9, Warmup: false).DecayAt(0));
        Assert.Equal(0.1, new ModelEma(0.9, Warmup: true).DecayAt(0), 12);
        foreach (var tensor in weights.Values) tensor.Dispose();
    }

    [Fact]
    public void Swapping_twice_restores_both_states()
    {
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 2);
        var weights = WeightAverage.Start(model);
        var average = new WeightAverage(new ModelEma(), model, weights);
        var live = model.state_dict()["classifier.1.weight"];
        using (no_grad()) weights["classifier.1.weight"].fill_(7f);
        var before = live.clone();

        average.Swap();
        Assert.True(live.eq(7f).all().item<bool>());
        average.Swap();

        TensorAssert.Identical(before, live);
        Assert.True(weights["classifier.1.weight"].eq(7f).all().item<bool>());
        average.CopyIntoModel();
        Assert.True(live.eq(7f).all().item<bool>());
        foreach (var tensor in weights.Values) tensor.Dispose();
    }
}
