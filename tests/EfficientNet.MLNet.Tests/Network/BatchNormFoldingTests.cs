using TorchSharp;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>
/// The library's scoring (<c>EfficientNetModel.Infer</c>) folds batch norms into the convolutions; nothing of it is
/// visible outside: the outputs equal the separate layers', the state_dict is unchanged, and a plain forward or
/// training never uses the fold.
/// </summary>
public class BatchNormFoldingTests
{
    // Batch-norm statistics and affine values away from their initial 0/1, so folding has something to fold.
    // No dropout and no stochastic depth: training-mode outputs then draw no random numbers (the generator is
    // shared with tests running in parallel).
    static EfficientNetModel ModelWithTrainedLookingNorms()
    {
        using var generator = new Generator(3);
        var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 10, stochasticDepthProbability: 0, dropoutRate: 0, generator: generator);
        using (no_grad())
            foreach (var (name, tensor) in model.state_dict().Where(p => p.Value.is_floating_point()))
            {
                if (name.EndsWith("1.bias", StringComparison.Ordinal)) tensor.normal_(0, 0.1, generator);
                else if (name.EndsWith("1.weight", StringComparison.Ordinal)) tensor.uniform_(0.5, 1.5, generator);
            }
        // Running statistics of the activations' own (random ones leave every input the same output, and a fold that
        // scaled a convolution wrongly could pass unseen): CalibratedNetwork.
        return CalibratedNetwork.Calibrate(model, 64, seed: 3);
    }

    // The premise of comparing two ways of scoring: the images get outputs of their own.
    static void AssertImagesDiffer(Tensor output) =>
        CalibratedNetwork.AssertInputDependent(Enumerable.Range(0, (int)output.shape[0]).Select(i => output[i].data<float>().ToArray()).ToList(), 1e-2f);

    [Fact]
    public void Libtorchs_version_counter_is_read_on_this_platform_so_the_fold_is_used_and_checked()
    {
        using var tensor = zeros(3);
        var before = TensorVersion.Of(tensor);

        using (no_grad())
            tensor.add_(1);

        Assert.True(TensorVersion.IsAvailable);
        Assert.Equal(before + 1, TensorVersion.Of(tensor));
    }

    [Fact]
    public void A_tensor_made_in_inference_mode_has_no_version_and_asking_does_not_abort_the_process()
    {
        Tensor tensor;
        using (inference_mode(true))
            tensor = zeros(3);
        using var normal = zeros(3);

        using (tensor)
            Assert.Null(TensorVersion.Of(tensor));
        Assert.NotNull(TensorVersion.Of(normal));
    }

    [Fact]
    public void Scoring_inside_inference_mode_folds_and_equals_the_separate_layers()
    {
        using var model = ModelWithTrainedLookingNorms();
        using var input = NetworkInput.From(rand(2, 3, 64, 64) * 255, PixelNormalization.ImageNet);
        using var noGrad = no_grad();
        using var separate = model.call(input);

        Tensor folded;
        using (inference_mode(true))
            folded = model.Infer(input);

        AssertImagesDiffer(separate);
        using (folded)
            Assert.True(folded.allclose(separate, rtol: 1e-4, atol: 1e-4), $"largest difference {(folded - separate).abs().max().item<float>()}");
        Assert.True(model.CanTrackChanges());
    }

    [Fact]
    public void A_model_whose_weights_were_made_in_inference_mode_scores_unfolded_and_correctly()
    {
        // Moving a model to another dtype inside inference mode gives it inference tensors, which keep no version
        // counter: a fold could not tell when it goes stale, so scoring uses the separate layers.
        using var model = ModelWithTrainedLookingNorms();
        using (inference_mode(true))
            model.to(ScalarType.Float64);
        using var singlePrecision = NetworkInput.From(rand(2, 3, 64, 64) * 255, PixelNormalization.ImageNet);
        using var input = singlePrecision.to(ScalarType.Float64);
        using var noGrad = no_grad();
        using var separate = model.call(input);

        using var scored = model.Infer(input);

        Assert.False(model.CanTrackChanges());
        TensorAssert.Identical(separate, scored);
    }

    [Fact]
    public void Scoring_with_folded_norms_equals_the_separate_layers_and_leaves_the_state_dict_unchanged()
    {
        using var model = ModelWithTrainedLookingNorms();
        using var input = NetworkInput.From(rand(4, 3, 96, 96) * 255, PixelNormalization.ImageNet);
        var names = model.state_dict().Keys.ToList();
        using var noGrad = no_grad();
        using var separate = model.call(input);

        using var folded = model.Infer(input);
        using var plainAgain = model.call(input);

        AssertImagesDiffer(separate);
        Assert.True(folded.allclose(separate, rtol: 1e-4, atol: 1e-4), $"largest difference {(folded - separate).abs().max().item<float>()}");
        Assert.False(folded.equal(separate).all().item<bool>(), "the folded path ran (its rounding differs)");
        Assert.Equal(names, model.state_dict().Keys.ToList());
        TensorAssert.Identical(separate, plainAgain);
    }

    [Fact]
    public void Training_mode_never_uses_the_fold()
    {
        using var model = ModelWithTrainedLookingNorms();
        using var input = rand(4, 3, 64, 64);
        model.train();
        using var before = model.call(input);
        using (model.Infer(input)) { } // makes the folds

        using var after = model.call(input);

        // Batch statistics, not the folded running statistics: the same as before the fold existed.
        Assert.True(after.allclose(before, rtol: 1e-4, atol: 1e-4), $"largest difference {(after - before).abs().max().item<float>()}");
        Assert.True(model.training, "Infer gave the model its training mode back");
    }
}
