using System.Diagnostics;
using System.Text.Json;
using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Tests.Weights;

/// <summary>The built-in manifest of torchvision's EfficientNet weights, names, and extra manifests.</summary>
[Collection(EnvironmentCollection.Name)]
public class WeightsRegistryTests
{
    static WeightsRegistry BuiltIn => WeightsRegistry.Load(null);

    [Fact]
    public void Every_built_in_entry_is_well_formed_with_one_default_per_variant()
    {
        var all = BuiltIn.All;

        // torchvision's b0..b7 IMAGENET1K_V1, b1 IMAGENET1K_V2, v2_s/m/l IMAGENET1K_V1; timm's TensorFlow ports: b0..b7 Noisy
        // Student and AdvProp, v2_s/m/l ImageNet-1k and ImageNet-21k fine-tuned.
        Assert.Equal(12 + 22, all.Count);
        Assert.Equal(EfficientNetVariants.All.Select(v => v.Name).Order(), all.Where(e => e.IsDefault).Select(e => e.Architecture).Order());
        Assert.Equal("efficientnet_b1.IMAGENET1K_V2", all.Single(e => e.IsDefault && e.Architecture == "b1").Name);
        Assert.All(all, e =>
        {
            Assert.StartsWith(e.Architecture.StartsWith("tf_", StringComparison.Ordinal)
                ? "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-"
                : "https://download.pytorch.org/models/efficientnet_", e.Url);
            // torchvision's file names end with the first 8 hex digits of the file's SHA-256 (what torch.hub checks).
            Assert.EndsWith($"-{e.Sha256[..8]}.pth", e.FileName);
            Assert.Equal(1000, e.Categories.Count);
            Assert.True(e.ResizeSize >= e.CropSize);
            Assert.InRange(e.Top1Accuracy!.Value, 77, 87);
        });
        Assert.Equal(all.Count, all.Select(e => e.FileName).Distinct().Count());
    }

    [Fact]
    public void The_built_in_preprocessing_and_categories_are_what_torchvision_says_of_the_same_weights()
    {
        Assert.SkipUnless(TorchvisionEquivalenceTests.TorchvisionIsInstalled(), "python3-torchvision is not installed; .ci/run installs it");
        var torchvision = JsonDocument.Parse(RunPython(FixturePaths.Of("torchvision_weights_meta.py"))).RootElement;

        var names = torchvision.EnumerateObject().Select(p => p.Name).ToList();

        var torchvisionEntries = BuiltIn.All.Where(e => !e.Architecture.StartsWith("tf_", StringComparison.Ordinal)).ToList();
        Assert.Equal(names.Order(), torchvisionEntries.Select(e => e.Name).Order());
        foreach (var entry in torchvisionEntries)
        {
            var expected = torchvision.GetProperty(entry.Name);
            Assert.Equal(expected.GetProperty("resize").GetInt32(), entry.ResizeSize);
            Assert.Equal(expected.GetProperty("crop").GetInt32(), entry.CropSize);
            Assert.Equal(expected.GetProperty("interpolation").GetString(), entry.Interpolation.ToString().ToLowerInvariant());
            Assert.Equal(expected.GetProperty("mean").EnumerateArray().Select(v => v.GetSingle()), entry.Normalization.Mean);
            Assert.Equal(expected.GetProperty("std").EnumerateArray().Select(v => v.GetSingle()), entry.Normalization.Std);
            Assert.Equal(expected.GetProperty("default").GetBoolean(), entry.IsDefault);
            Assert.Equal(expected.GetProperty("top1").GetDouble(), entry.Top1Accuracy);
            Assert.Equal(expected.GetProperty("categories").EnumerateArray().Select(c => c.GetString()), entry.Categories);
        }
    }

    [Theory]
    [InlineData("imagenet", "b1", "efficientnet_b1.IMAGENET1K_V2")]
    [InlineData("ImageNet", "b0", "efficientnet_b0.IMAGENET1K_V1")]
    [InlineData("efficientnet_b1", null, "efficientnet_b1.IMAGENET1K_V2")]
    [InlineData("EFFICIENTNET_B1.imagenet1k_v1", null, "efficientnet_b1.IMAGENET1K_V1")]
    [InlineData(" efficientnet_b7.IMAGENET1K_V1 ", "b7", "efficientnet_b7.IMAGENET1K_V1")]
    [InlineData("imagenet", "v2-s", "efficientnet_v2_s.IMAGENET1K_V1")]
    [InlineData("efficientnet_v2_l", null, "efficientnet_v2_l.IMAGENET1K_V1")]
    [InlineData("imagenet", "tf_b7", "tf_efficientnet_b7.ns_jft_in1k")]
    [InlineData("tf_efficientnetv2_s", null, "tf_efficientnetv2_s.in21k_ft_in1k")]
    [InlineData("TF_EfficientNet_B3.AP_IN1K", null, "tf_efficientnet_b3.ap_in1k")]
    public void Names_mean_the_entries_torchvision_would_choose(string name, string? version, string expected)
    {
        Assert.Equal(expected, BuiltIn.Get(name, version).Name);
    }

    [Fact]
    public void An_unknown_name_lists_the_known_ones_and_imagenet_alone_asks_for_the_version()
    {
        var unknown = Assert.Throws<ArgumentException>(() => BuiltIn.Get("efficientnet_b9.IMAGENET1K_V1"));
        var noVersion = Assert.Throws<ArgumentException>(() => BuiltIn.Get("imagenet"));

        Assert.Contains("No pretrained weights are named \"efficientnet_b9.IMAGENET1K_V1\"", unknown.Message);
        Assert.Contains("efficientnet_b0.IMAGENET1K_V1", unknown.Message);
        Assert.Contains("give the version too", noVersion.Message);
    }

    [Fact]
    public void An_extra_manifest_adds_entries_and_replaces_built_in_ones_by_name()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var manifest = folder.File("mirror.json");
        File.WriteAllText(manifest, """
            { "weights": [
              { "name": "efficientnet_b0.IMAGENET1K_V1", "architecture": "b0", "default": true, "url": "https://mirror.example/b0-7f5810bc.pth",
                "sha256": "7f5810bc", "resize": 256, "crop": 224, "interpolation": "bicubic" },
              { "name": "mine.b2", "architecture": "B2", "url": "/srv/weights/mine.pth", "sha256": "0123456789abcdef",
                "resize": 260, "crop": 260, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "categories": ["cat", "dog"] }
            ] }
            """);
        using var environment = new EnvironmentVariables().Set(WeightsRegistry.ManifestVariable, manifest);

        var registry = WeightsRegistry.Current;

        Assert.Equal(35, registry.All.Count);
        Assert.Equal("https://mirror.example/b0-7f5810bc.pth", registry.Get("imagenet", "b0").Url);
        var mine = registry.Get("mine.b2");
        Assert.Equal(("b2", ResizeInterpolation.Bilinear), (mine.Architecture, mine.Interpolation));
        Assert.Equal(new[] { "cat", "dog" }, mine.Categories);
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f }, mine.Normalization.Std);
        Assert.Equal("mine.pth", mine.FileName);
    }

    public static TheoryData<string, string> BadManifests() => new()
    {
        { "{ \"weights\": [ { \"name\": \"x\" ", "is not valid JSON" },
        { "{ \"entries\": [] }", "expected an object with a \"weights\" array" },
        { Entry("\"sha256\": \"xyz\""), "entry 0 (\"x\"), field \"sha256\": expected the file's SHA-256 in hex, or a prefix of at least 8 hex digits, got \"xyz\"" },
        { Entry("\"interpolation\": \"nearest\""), "field \"interpolation\": expected \"bilinear\" or \"bicubic\", got \"nearest\"" },
        { Entry("\"architecture\": \"b9\""), "field \"architecture\": expected one of b0, b1, b2, b3, b4, b5, b6, b7, v2_s, v2_m, v2_l, tf_b0" },
        { Entry("\"crop\": 600"), "field \"resize\": expected a whole number of at least 600, got 256" },
        { Entry("\"std\": [0.5, 0, 0.5]"), "field \"std\": expected 3 positive numbers (R, G, B), got [0.5, 0, 0.5]" },
        { Entry("\"categories\": \"places365\""), "field \"categories\": expected \"imagenet-1k\" or an array of at least 2 class names, got \"places365\"" },
        { "{ \"weights\": [ { \"architecture\": \"b0\" } ] }", "entry 0, field \"name\": expected a non-empty string (it is missing)" },
    };

    // One entry whose fields are fine but for the one given (which replaces its default).
    static string Entry(string field)
    {
        var fields = new Dictionary<string, string>
        {
            ["name"] = "\"x\"", ["architecture"] = "\"b0\"", ["url"] = "\"https://example.org/x.pth\"", ["sha256"] = "\"0123abcd\"",
            ["resize"] = "256", ["crop"] = "224",
        };
        var (key, value) = (field[1..field.IndexOf('"', 1)], field[(field.IndexOf(':') + 1)..].Trim());
        fields[key] = value;
        return "{ \"weights\": [ { " + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + " } ] }";
    }

    [Theory]
    [MemberData(nameof(BadManifests))]
    public void A_bad_manifest_is_an_error_naming_the_file_the_entry_and_the_field(string json, string expected)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var manifest = folder.File("bad.json");
        File.WriteAllText(manifest, json);

        var error = Assert.Throws<WeightsManifestException>(() => WeightsRegistry.Load(manifest));

        Assert.Contains($"The weights manifest {manifest} cannot be used", error.Message);
        Assert.Contains(expected, error.Message);
    }

    static string RunPython(string script)
    {
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", script) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, errors);
        return output.Result;
    }
}
