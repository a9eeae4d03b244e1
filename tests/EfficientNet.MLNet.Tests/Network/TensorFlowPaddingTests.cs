using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Onnx;
using EfficientNet.MLNet.Weights;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>
/// TensorFlow's "SAME" padding (timm's tf_* models). The oracle: Fixtures/make_torchvision_fixtures.py pads torchvision's
/// reduced models with torch ops by TensorFlow's rule and writes their logits for the committed reduced weights.
/// </summary>
public class TensorFlowPaddingTests
{
    [Theory]
    [InlineData(64, 3, 2, 0, 1)]  // even input, stride 2: the odd pixel goes after
    [InlineData(57, 3, 2, 1, 1)]  // odd input: symmetric
    [InlineData(64, 5, 2, 1, 2)]
    [InlineData(57, 5, 2, 2, 2)]
    [InlineData(10, 3, 1, 1, 1)]  // stride 1, odd kernel: (k - 1) / 2, like PyTorch
    [InlineData(7, 1, 1, 0, 0)]
    public void Same_padding_is_tensorflows_rule(long input, long kernel, long stride, long before, long after)
    {
        Assert.Equal((before, after), TensorFlowPadding.Of(input, kernel, stride));
        Assert.Equal((input + stride - 1) / stride, (input + before + after - kernel) / stride + 1);
    }

    /// <summary>A reduced fixture's layout ("reduced": V1's; "reduced_v2": V2-S's) with the given weights and padding.</summary>
    static EfficientNetModel PaddedReducedModel(string layout, string weights, ConvPadding padding)
    {
        var scaling = TorchvisionEquivalenceTests.ReducedScaling(layout) with { Padding = padding };
        var model = new EfficientNetModel(scaling, 7);
        model.LoadSafetensors(FixturePaths.Of($"{weights}.safetensors"));
        model.eval();
        return model;
    }

    [Theory]
    [InlineData("reduced", "reduced_tf", "reduced_tf_io")]
    [InlineData("reduced_v2", "reduced_v2", "reduced_v2_tf_io")]
    public void Weights_padded_as_tensorflow_pads_give_the_torch_references_logits_in_training_and_scoring_paths(string layout, string weights, string reference)
    {
        using var tensorflow = PaddedReducedModel(layout, weights, ConvPadding.Same);
        using var symmetric = PaddedReducedModel(layout, weights, ConvPadding.Symmetric);
        var expected = SafetensorsFile.Open(FixturePaths.Of($"{reference}.safetensors"));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        foreach (var suffix in new[] { "", "_odd" })
        {
            var input = expected.ReadTensor("input" + suffix);
            var logits = expected.ReadTensor("logits" + suffix);

            var plain = tensorflow.call(input);
            var folded = tensorflow.Infer(input);

            Assert.True((plain - logits).abs().max().item<float>() < 1e-4, $"forward differs from the reference by {(plain - logits).abs().max().item<float>()}");
            Assert.True((folded - logits).abs().max().item<float>() < 1e-4, $"folded scoring differs from the reference by {(folded - logits).abs().max().item<float>()}");
            var apart = (symmetric.call(input) - logits).abs().max().item<float>();
            Assert.True(apart > 0.1, $"the reference is not telling the paddings apart: {apart} (logits up to {logits.abs().max().item<float>()}), input{suffix}");
        }
    }

    [Fact]
    public void The_onnx_export_pads_explicitly_as_tensorflow_does_and_onnx_runtime_agrees()
    {
        using var model = PaddedReducedModel("reduced", "reduced_tf", ConvPadding.Same);
        var reference = SafetensorsFile.Open(FixturePaths.Of("reduced_tf_io.safetensors"));
        using var onnx = new MemoryStream();
        // The reference input is already normalized: (x / 255 - 0) / (1 / 255) passes it through.
        OnnxExport.Write(model, 32, onnx, null, new PixelNormalization(new[] { 0f, 0f, 0f }, new[] { 1 / 255f, 1 / 255f, 1 / 255f }));
        using var session = new InferenceSession(onnx.ToArray());

        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, new DenseTensor<float>(reference.ReadFloats("input").AsMemory(), new[] { 2, 3, 32, 32 })) });
        var logits = results.Single(r => r.Name == OnnxExport.LogitsName).AsTensor<float>().ToArray();

        Assert.Equal(reference.ReadFloats("logits"), logits, new ToleranceComparer(1e-4f));
    }

    [Theory]
    [InlineData("tf_b3", "b3")]
    [InlineData("TF_EfficientNet_B3", "b3")]
    [InlineData("tf_efficientnetv2_s", "v2_s")]
    [InlineData("tf-v2-l", "v2_l")]
    public void Tensorflow_variants_are_torchvisions_networks_with_same_padding_and_tensorflows_batch_norm(string name, string torchvision)
    {
        var variant = EfficientNetVariants.Get(name);
        var counterpart = EfficientNetVariants.Get(torchvision);

        Assert.Equal(ConvPadding.Same, variant.Padding);
        Assert.Equal((1e-3, 0.01), (variant.BatchNormEpsilon, variant.BatchNormMomentum));
        Assert.Equal(counterpart with { Name = variant.Name, BatchNormEpsilon = 1e-3, BatchNormMomentum = 0.01, Padding = ConvPadding.Same }, variant);
        Assert.Equal(EfficientNetArchitecture.Plan(counterpart).StateLayout(1000).Select(e => e.Name), EfficientNetArchitecture.Plan(variant).StateLayout(1000).Select(e => e.Name));
    }
}
