using EfficientNet.MLNet.Explanations;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Tests.Network;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Explanations;

public class GradCamLayerTests
{
    [Theory]
    [InlineData("b0")]
    [InlineData("tf_b0")]
    [InlineData("v2_s")]
    public void Each_layer_map_has_the_side_the_architecture_gives_and_the_rest_of_the_network_gives_the_logits(string version)
    {
        // Calibrated: a fresh network's logits are about the same for every input, and a wrong split could pass unseen.
        using var model = CalibratedNetwork.Calibrate(EfficientNetModel.Create(version, numClasses: 3), 64);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var size in new[] { 33, 64, 100 })
        {
            var input = randn(2, 3, size, size);
            var logits = model.call(input);
            Assert.True((logits[0] - logits[1]).abs().max().item<float>() > 1e-2f, $"{version} at {size} px gives two inputs the same logits: the comparison below could not fail");
            for (var layer = 0; layer < model.Architecture.FeatureLayerCount; layer++)
            {
                var map = model.FeatureMap(input, layer);
                Assert.Equal(model.Architecture.FeatureMapSide(layer, size), (int)map.shape[3]);
                Assert.Equal(map.shape[2], map.shape[3]);
                var rest = model.LogitsFromFeatureMap(map, layer);
                Assert.True(rest.allclose(logits, rtol: 0, atol: 1e-5), $"{version} at {size} px, split after features[{layer}]: {(rest - logits).abs().max().item<float>()}");
            }
        }
    }

    [Theory]
    [InlineData("b0", 224, 8)] // 7 x 7: the head, pytorch-grad-cam's features[-1]
    [InlineData("b0", 128, 4)] // 4 x 4 at the head; 8 x 8 from features[4] (stride 16) to features[5]
    [InlineData("b0", 64, 3)]  // 8 x 8 at features[3] alone (stride 8)
    [InlineData("b0", 32, 2)]
    [InlineData("b0", 16, 1)]  // 8 x 8 from the stem on: the first stage, not the stem
    [InlineData("b0", 8, 8)]   // no stage's map has 7 cells: the head
    [InlineData("b7", 600, 8)] // 19 x 19
    [InlineData("v2_s", 384, 7)]
    [InlineData("v2_s", 128, 4)]
    public void The_default_layer_is_the_head_when_its_map_has_seven_cells_and_else_the_first_of_the_deepest_such_maps(string version, int size, int expected)
    {
        var architecture = EfficientNetArchitecture.Plan(EfficientNetVariants.Get(version));

        Assert.Equal(expected, GradCam.DefaultLayer(architecture, size));
    }
}
