using EfficientNet.MLNet.Network;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

public class EfficientNetModelTests
{
    [Theory]
    [InlineData("b0", 1280)]
    [InlineData("b1", 1280)]
    [InlineData("b2", 1408)]
    [InlineData("b3", 1536)]
    [InlineData("b4", 1792)]
    [InlineData("b5", 2048)]
    [InlineData("b6", 2304)]
    [InlineData("b7", 2560)]
    public void Each_variant_maps_a_small_batch_to_logits_and_features(string version, long headChannels)
    {
        using var model = EfficientNetModel.Create(version, numClasses: 5);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(2, 3, 64, 64);

        Assert.Equal(new long[] { 2, 5 }, model.call(x).shape);
        Assert.Equal(new long[] { 2, headChannels }, model.ForwardFeatures(x).shape);
    }

    [Fact]
    public void Non_square_inputs_work()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 3);
        model.eval();
        using var scope = NewDisposeScope();

        Assert.Equal(new long[] { 1, 3 }, model.call(randn(1, 3, 96, 160)).shape);
    }

    [Fact]
    public void Initialization_follows_torchvision()
    {
        manual_seed(3);
        using var model = EfficientNetModel.Create("b0");
        var state = model.state_dict();

        // Kaiming normal, fan-out: the head conv (1280 x 320 x 1 x 1) has fan-out 1280, so std sqrt(2 / 1280).
        var head = state["features.8.0.weight"];
        Assert.Equal(Math.Sqrt(2.0 / 1280), head.std().item<float>(), 0.001);
        Assert.Equal(0, head.mean().item<float>(), 0.001);
        // Squeeze-excitation convolutions have a bias, initialized to zero.
        Assert.Equal(0, state["features.1.0.block.1.fc1.bias"].abs().sum().item<float>());
        // Batch norm: weight 1, bias 0.
        TensorAssert.Identical(ones(32), state["features.0.1.weight"]);
        TensorAssert.Identical(zeros(32), state["features.0.1.bias"]);
        // Linear: uniform in +-1/sqrt(out_features), bias 0.
        var linear = state["classifier.1.weight"];
        var bound = 1 / Math.Sqrt(1000);
        Assert.InRange(linear.abs().max().item<float>(), bound * 0.99, bound);
        Assert.Equal(0, state["classifier.1.bias"].abs().sum().item<float>());
    }

    [Fact]
    public void Classifier_is_dropout_then_linear_with_the_variants_rate()
    {
        using var model = EfficientNetModel.Create("b4", numClasses: 2);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);

        Assert.IsType<Dropout>(modules["classifier.0"]);
        Assert.IsType<Linear>(modules["classifier.1"]);
        Assert.Equal(0.4, model.DropoutRate);
    }

    [Fact]
    public void Training_step_reduces_the_loss_on_a_fixed_batch()
    {
        // Without dropout and stochastic depth (tested on their own) only the initialization is random: other
        // test classes share libtorch's global generator in parallel, so a seed alone cannot pin the run.
        using var model = new EfficientNetModel(EfficientNetVariants.B0, numClasses: 2, stochasticDepthProbability: 0, dropoutRate: 0);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        using var scope = NewDisposeScope();
        var x = randn(4, 3, 64, 64);
        var labels = tensor(new long[] { 0, 1, 0, 1 });
        model.train();

        float Step()
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), labels);
            loss.backward();
            optimizer.step();
            return loss.item<float>();
        }

        var first = Step();
        float last = first;
        for (var i = 0; i < 9; i++) last = Step();
        Assert.True(last < first * 0.5, $"loss went from {first} to {last}");
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }
}
