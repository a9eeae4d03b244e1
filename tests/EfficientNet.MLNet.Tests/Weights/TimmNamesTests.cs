using System.Text.Json;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Weights;

public class TimmNamesTests
{
    [Theory]
    [InlineData("b0")]
    [InlineData("b1")]
    [InlineData("b2")]
    [InlineData("b3")]
    public void The_mapping_covers_every_tensor_once(string version)
    {
        using var model = EfficientNetModel.Create(version, numClasses: 1000);

        var map = TimmNames.ToTorchvision(model.Architecture);

        Assert.Equal(model.state_dict().Keys.Order(StringComparer.Ordinal), map.Values.Order(StringComparer.Ordinal));
        Assert.Equal(map.Count, map.Values.Distinct().Count());
    }

    [Fact]
    public void EfficientNetV2_is_not_mapped_to_timm_names_and_says_so()
    {
        var error = Assert.Throws<ArgumentException>(() => TimmNames.ToTorchvision(EfficientNetArchitecture.Plan(EfficientNetVariants.V2S)));

        Assert.Contains("V1 (b0..b7) only", error.Message);
    }

    [Fact]
    public void Every_real_timm_b0_tensor_maps_to_a_torchvision_tensor_of_the_same_shape()
    {
        // Fixtures/timm/timm_efficientnet_b0.json: timm's efficientnet_b0 state_dict names and shapes, made by
        // make_timm_b0_names.py from timm's source and checked there against a printed timm state_dict.
        using var document = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of("timm/timm_efficientnet_b0.json")));
        var timm = document.RootElement.GetProperty("tensors").EnumerateArray()
            .ToDictionary(t => t[0].GetString()!, t => t[1].EnumerateArray().Select(d => d.GetInt64()).ToArray());
        using var model = EfficientNetModel.Create("b0", numClasses: 1000);
        var torchvision = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);

        var map = TimmNames.ToTorchvision(model.Architecture);

        Assert.Equal(360, timm.Count);
        Assert.Equal(timm.Keys.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
        Assert.All(timm, t => Assert.Equal(t.Value, torchvision[map[t.Key]]));
        Assert.True(TimmNames.AreTimm(timm.Keys));
    }

    [Fact]
    public void Known_timm_names_of_b0_map_to_torchvisions()
    {
        using var model = EfficientNetModel.Create("b0");
        var map = TimmNames.ToTorchvision(model.Architecture);

        Assert.Equal("features.0.0.weight", map["conv_stem.weight"]);
        Assert.Equal("features.0.1.running_var", map["bn1.running_var"]);
        Assert.Equal("features.1.0.block.0.0.weight", map["blocks.0.0.conv_dw.weight"]);
        Assert.Equal("features.1.0.block.1.fc1.bias", map["blocks.0.0.se.conv_reduce.bias"]);
        Assert.Equal("features.1.0.block.2.0.weight", map["blocks.0.0.conv_pw.weight"]);
        Assert.Equal("features.2.1.block.0.0.weight", map["blocks.1.1.conv_pw.weight"]);
        Assert.Equal("features.2.1.block.3.1.weight", map["blocks.1.1.bn3.weight"]);
        Assert.Equal("features.7.0.block.2.fc2.weight", map["blocks.6.0.se.conv_expand.weight"]);
        Assert.Equal("features.8.0.weight", map["conv_head.weight"]);
        Assert.Equal("features.8.1.num_batches_tracked", map["bn2.num_batches_tracked"]);
        Assert.Equal("classifier.1.bias", map["classifier.bias"]);
    }

    [Fact]
    public void A_file_in_timm_names_loads_and_gives_the_same_outputs()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(1);
        using var original = EfficientNetModel.Create("b0", numClasses: 5);
        manual_seed(2);
        using var copy = EfficientNetModel.Create("b0", numClasses: 5);
        var toTimm = TimmNames.ToTorchvision(original.Architecture).ToDictionary(p => p.Value, p => p.Key);
        var path = folder.File("timm-b0.safetensors");
        SafetensorsWriter.Write(path, original.state_dict().Select(p => (toTimm[p.Key], p.Value)));

        var report = copy.LoadSafetensors(path);

        Assert.Equal(360, report.Loaded.Count);
        original.eval();
        copy.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 64, 64);
        TensorAssert.Identical(original.call(x), copy.call(x));
    }
}
