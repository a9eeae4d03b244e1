using System.Text.Json;
using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Tests.Network;

public class ModelSummaryTests
{
    [Theory]
    [InlineData("b0")]
    [InlineData("b3")]
    [InlineData("v2_s")]
    [InlineData("v2_m")]
    public void Summary_at_224_counts_torchvisions_parameters_and_multiply_adds(string version)
    {
        var torchvision = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of("state_dict_shapes.json")))
            .RootElement.GetProperty("variants").GetProperty(version);
        using var model = EfficientNetModel.Create(version);

        var summary = ModelSummary.Of(model, resolution: 224);

        Assert.Equal(torchvision.GetProperty("parameters").GetInt64(), summary.TotalParameters);
        Assert.Equal(summary.TotalParameters, summary.TrainableParameters);
        Assert.Equal(torchvision.GetProperty("multiply_adds_at_224").GetInt64(), summary.MultiplyAdds);
        Assert.Equal(summary.TotalParameters, summary.Layers.Sum(layer => layer.Parameters));
    }

    [Fact]
    public void B0_summary_lists_layers_in_execution_order_with_output_shapes()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 10);

        var summary = ModelSummary.Of(model);

        // 32 filters of 3 x 3 x 3 at 112 x 112: 864 parameters, 112 * 112 * 32 * 27 multiply-adds.
        Assert.Equal(new LayerSummary("features.0.0", "Conv2d", new long[] { 1, 32, 112, 112 }, 864, 10_838_016), summary.Layers[0], new LayerComparer());
        Assert.Equal(new long[] { 1, 1280, 7, 7 }, summary.Layers.Single(l => l.Name == "features.8.0").OutputShape);
        Assert.Equal(("classifier.1", "Linear"), (summary.Layers[^1].Name, summary.Layers[^1].Type));
        Assert.Equal(new long[] { 1, 10 }, summary.Layers[^1].OutputShape);
        // torchvision's 385,814,752 for 1000 classes, less the 990 classes' 1280 multiply-adds each.
        Assert.Equal(385_814_752 - 990 * 1280, summary.MultiplyAdds);
        Assert.InRange(summary.ActivationBytes, 60_000_000, 90_000_000);
    }

    [Fact]
    public void Summary_text_reads_like_torchsummary()
    {
        using var model = EfficientNetModel.Create("b0");
        model.train();

        var text = ModelSummary.Of(model).ToText();

        Assert.Contains("features.0.0 (Conv2d)", text);
        Assert.Contains("[1, 32, 112, 112]", text);
        Assert.Contains("Total params: 5,288,548", text);
        Assert.Contains("Trainable params: 5,288,548", text);
        Assert.Contains("Multiply-adds (G): 0.386", text);
        Assert.Contains("Forward/backward pass size (MB):", text);
        Assert.True(model.training, "summarizing leaves the model's mode as it was");
    }

    [Fact]
    public void Frozen_parameters_are_not_trainable()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 4);
        foreach (var parameter in model.BackboneParameters())
            parameter.requires_grad = false;

        var summary = ModelSummary.Of(model, resolution: 64);

        Assert.Equal(1280 * 4 + 4, summary.TrainableParameters);
    }

    sealed class LayerComparer : IEqualityComparer<LayerSummary>
    {
        public bool Equals(LayerSummary? x, LayerSummary? y) =>
            x is not null && y is not null && x.Name == y.Name && x.Type == y.Type && x.OutputShape.SequenceEqual(y.OutputShape)
            && x.Parameters == y.Parameters && x.MultiplyAdds == y.MultiplyAdds;

        public int GetHashCode(LayerSummary obj) => obj.Name.GetHashCode();
    }
}
