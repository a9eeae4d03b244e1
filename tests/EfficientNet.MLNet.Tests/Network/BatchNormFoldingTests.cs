using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

public class BatchNormFoldingTests
{
    // Batch-norm statistics and affine values away from their initial 0/1, so folding has something to fold.
    // No dropout and no stochastic depth: training-mode outputs then draw no random numbers (the generator is
    // shared with tests running in parallel).
    static EfficientNetModel ModelWithTrainedLookingNorms()
    {
        manual_seed(3);
        var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 10, stochasticDepthProbability: 0, dropoutRate: 0);
        using var noGrad = no_grad();
        foreach (var (name, tensor) in model.state_dict().Where(p => p.Value.is_floating_point()))
        {
            if (name.EndsWith("running_var", StringComparison.Ordinal)) tensor.copy_(rand_like(tensor) + 0.5);
            else if (name.EndsWith("running_mean", StringComparison.Ordinal) || name.EndsWith("1.bias", StringComparison.Ordinal)) tensor.copy_(randn_like(tensor) * 0.1);
            else if (name.EndsWith("1.weight", StringComparison.Ordinal)) tensor.copy_(rand_like(tensor) + 0.5);
        }
        model.eval();
        return model;
    }

    [Fact]
    public void Folded_eval_outputs_equal_the_separate_layers_and_the_state_dict_is_unchanged()
    {
        using var model = ModelWithTrainedLookingNorms();
        using var input = NetworkInput.From(rand(4, 3, 96, 96) * 255);
        var names = model.state_dict().Keys.ToList();
        using var noGrad = no_grad();
        using var separate = model.call(input);

        model.FoldBatchNorms();
        using var folded = model.call(input);

        Assert.True(folded.allclose(separate, rtol: 1e-4, atol: 1e-4), $"largest difference {(folded - separate).abs().max().item<float>()}");
        Assert.Equal(names, model.state_dict().Keys.ToList());
        model.UnfoldBatchNorms();
        using var unfolded = model.call(input);
        Assert.True(unfolded.equal(separate).all().item<bool>());
    }

    [Fact]
    public void Training_mode_ignores_the_folded_copy()
    {
        using var model = ModelWithTrainedLookingNorms();
        using var input = rand(4, 3, 64, 64);
        model.FoldBatchNorms();
        model.train();
        using var foldedThenTrained = model.call(input);

        model.UnfoldBatchNorms();
        using var plainTrained = model.call(input);

        // The same to float rounding (a folded path would use running statistics instead of the batch's: far off).
        Assert.True(foldedThenTrained.allclose(plainTrained, rtol: 1e-4, atol: 1e-4), $"largest difference {(foldedThenTrained - plainTrained).abs().max().item<float>()}");
    }
}
