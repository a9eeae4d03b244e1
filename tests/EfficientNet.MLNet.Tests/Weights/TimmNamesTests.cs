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
    [InlineData("tf_b7")]
    [InlineData("tf_v2_s")]
    [InlineData("v2_l")]
    public void The_mapping_covers_every_tensor_once(string version)
    {
        using var model = EfficientNetModel.Create(version, numClasses: 1000);

        var map = TimmNames.ToTorchvision(model.Architecture);

        Assert.Equal(model.state_dict().Keys.Order(StringComparer.Ordinal), map.Values.Order(StringComparer.Ordinal));
        Assert.Equal(map.Count, map.Values.Distinct().Count());
    }

    [Theory]
    [InlineData("timm_efficientnet_b0", "b0", 360)]
    [InlineData("timm_tf_efficientnetv2_s", "tf_v2_s", 782)]
    public void Every_real_timm_tensor_maps_to_a_torchvision_tensor_of_the_same_shape(string fixture, string version, int tensors)
    {
        // Fixtures/timm/*.json: timm's state_dict names and shapes, made by make_timm_b0_names.py and make_timm_v2_names.py
        // from timm's source (provenance in each script) and checked there against printed timm state_dicts.
        using var document = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of($"timm/{fixture}.json")));
        var timm = document.RootElement.GetProperty("tensors").EnumerateArray()
            .ToDictionary(t => t[0].GetString()!, t => t[1].EnumerateArray().Select(d => d.GetInt64()).ToArray());
        using var model = EfficientNetModel.Create(version, numClasses: 1000);
        var torchvision = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);

        var map = TimmNames.ToTorchvision(model.Architecture);

        Assert.Equal(tensors, timm.Count);
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

    [Theory]
    [InlineData("b0", 360)]
    [InlineData("tf_v2_s", 782)]
    public void A_file_in_timm_names_loads_and_gives_the_same_outputs(string version, int tensors)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(1);
        using var original = EfficientNetModel.Create(version, numClasses: 5);
        manual_seed(2);
        using var copy = EfficientNetModel.Create(version, numClasses: 5);
        var toTimm = TimmNames.ToTorchvision(original.Architecture).ToDictionary(p => p.Value, p => p.Key);
        var path = folder.File("timm-b0.safetensors");
        SafetensorsWriter.Write(path, original.state_dict().Select(p => (toTimm[p.Key], p.Value)));

        var report = copy.LoadSafetensors(path);

        Assert.Equal(tensors, report.Loaded.Count);
        original.eval();
        copy.eval();
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 64, 64);
        TensorAssert.Identical(original.call(x), copy.call(x));
    }
}
