using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>
/// The oracle is torchvision itself: Fixtures/make_torchvision_fixtures.py (Debian's python3-torchvision 0.14)
/// wrote the weights, inputs, logits, names and shapes compared here.
/// </summary>
public class TorchvisionEquivalenceTests
{
    const double Tolerance = 1e-4;

    /// <summary>Our network with the layout torchvision's builder gave the committed reduced fixture (random weights).</summary>
    internal static EfficientNetModel ReducedModel(string fixture = "reduced") =>
        new(ReducedScaling(fixture), JsonDocument.Parse(File.ReadAllText(FixturePaths.Of($"{fixture}.json"))).RootElement.GetProperty("num_classes").GetInt32());

    /// <summary>The scaling torchvision's builder was given for a reduced fixture ("reduced": V1's table; "reduced_v2": V2-S's).</summary>
    internal static EfficientNetScaling ReducedScaling(string fixture = "reduced")
    {
        var built = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of($"{fixture}.json"))).RootElement;
        var table = built.TryGetProperty("table", out var name) ? BlockTable.Find(name.GetString()!)! : BlockTable.V1;
        return new EfficientNetScaling(fixture,
            built.GetProperty("width_mult").GetDouble(), built.GetProperty("depth_mult").GetDouble(), 64,
            built.GetProperty("dropout").GetDouble(),
            built.GetProperty("batch_norm_eps").GetDouble(), built.GetProperty("batch_norm_momentum").GetDouble()) { Blocks = table };
    }

    [Theory]
    [InlineData("reduced")]
    [InlineData("reduced_v2")]
    public void Reduced_model_from_torchvisions_builder_loads_by_name_and_gives_its_logits(string fixture)
    {
        var built = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of($"{fixture}.json"))).RootElement;
        using var model = ReducedModel(fixture);

        var report = model.LoadSafetensors(FixturePaths.Of($"{fixture}.safetensors"));

        Assert.Equal(built.GetProperty("parameters").GetInt64(), model.parameters().Sum(p => p.numel()));
        Assert.Equal(model.state_dict().Count, report.Loaded.Count);
        Assert.Equal(model.state_dict().Values.Sum(t => t.numel()), model.Architecture.StateElementCount(model.NumClasses));
        AssertLogitsMatch(model, FixturePaths.Of($"{fixture}_io.safetensors"));
    }

    [Fact]
    public void Reduced_v2_has_fused_stages_with_and_without_expansion_and_mbconv_stages()
    {
        using var model = ReducedModel("reduced_v2");
        var blocks = model.Architecture.Stages.SelectMany(stage => stage).ToList();

        Assert.Contains(blocks, b => b.Kind == BlockKind.FusedMBConv && !b.HasExpansion && b.HasResidual);
        Assert.Contains(blocks, b => b.Kind == BlockKind.FusedMBConv && b.HasExpansion && b.Stride == 2);
        Assert.Contains(blocks, b => b.Kind == BlockKind.FusedMBConv && b.HasExpansion && b.HasResidual);
        Assert.Contains(blocks, b => b.Kind == BlockKind.MBConv && b.HasResidual);
    }

    [Fact]
    public void Every_variant_has_torchvisions_state_dict_names_and_shapes()
    {
        var variants = JsonDocument.Parse(File.ReadAllText(FixturePaths.Of("state_dict_shapes.json"))).RootElement.GetProperty("variants");
        foreach (var version in EfficientNetVariants.Torchvision.Select(variant => variant.Name))
        {
            var expected = variants.GetProperty(version).GetProperty("state_dict").EnumerateArray()
                .Select(entry => $"{entry[0].GetString()} [{string.Join(", ", entry[1].EnumerateArray().Select(d => d.GetInt64()))}]")
                .Order(StringComparer.Ordinal).ToList();
            using var model = EfficientNetModel.Create(version);

            // Sorted: TorchSharp lists a module's parameters before its buffers, PyTorch interleaves them per
            // layer. Loading goes by name, so the order is not part of the contract.
            var actual = model.state_dict().Select(pair => $"{pair.Key} [{string.Join(", ", pair.Value.shape)}]").Order(StringComparer.Ordinal).ToList();

            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData("full-b0", "b0")]
    [InlineData("full-v2-s", "v2_s")]
    public void A_full_network_with_random_torchvision_weights_gives_torchvisions_logits(string mode, string version)
    {
        Assert.SkipUnless(TorchvisionIsInstalled(), "python3-torchvision is not installed (apt-get install python3-torchvision); the committed reduced fixtures still ran.");
        using var folder = new FixturePaths.TemporaryFolder();
        RunFixtureScript(mode, folder.Path);
        using var model = EfficientNetModel.Create(version);

        model.LoadSafetensors(folder.File($"{version}.safetensors"));

        AssertLogitsMatch(model, folder.File($"{version}_io.safetensors"));
    }

    internal static void AssertLogitsMatch(EfficientNetModel model, string referencePath)
    {
        var reference = SafetensorsFile.Open(referencePath);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var input = reference.ReadTensor("input");
        var expected = reference.ReadTensor("logits");

        var logits = model.call(input);

        Assert.Equal(expected.shape, logits.shape);
        var difference = (logits - expected).abs().max().item<float>();
        Assert.True(difference < Tolerance, $"largest logit difference from torchvision: {difference}");
        Assert.True(expected.abs().max().item<float>() > 0.1, "the reference logits are not trivially small");
    }

    internal static bool TorchvisionIsInstalled() => PythonHas("torchvision");

    /// <summary>Whether Debian's /usr/bin/python3 can import <paramref name="module"/>.</summary>
    internal static bool PythonHas(string module)
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", $"-c \"import {module}\"")
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    static void RunFixtureScript(string mode, string outputFolder)
    {
        var script = FixturePaths.Of("make_torchvision_fixtures.py");
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3") { ArgumentList = { script, mode, outputFolder }, RedirectStandardError = true })!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{script} {mode} failed: {errors}");
    }
}
