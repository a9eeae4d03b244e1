using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Weights;

public class ModuleWeightsTests
{
    [Fact]
    public void Saved_model_loads_into_a_fresh_one_and_gives_the_same_outputs()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        manual_seed(1);
        using var original = EfficientNetModel.Create("b0", numClasses: 3);
        manual_seed(2);
        using var copy = EfficientNetModel.Create("b0", numClasses: 3);
        var path = folder.File("b0.safetensors");

        original.SaveSafetensors(path, new Dictionary<string, string> { ["version"] = "b0" });
        var report = copy.LoadSafetensors(path);

        Assert.Equal(360, report.Loaded.Count);
        Assert.Empty(report.KeptFromModel);
        using var scope = NewDisposeScope();
        original.eval();
        copy.eval();
        var x = randn(2, 3, 64, 64);
        TensorAssert.Identical(original.call(x), copy.call(x));
    }

    [Fact]
    public void Strict_load_of_other_class_count_lists_the_mismatch_and_changes_nothing()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var imagenet = EfficientNetModel.Create("b0", numClasses: 1000);
        using var model = EfficientNetModel.Create("b0", numClasses: 10);
        var path = folder.File("imagenet.safetensors");
        imagenet.SaveSafetensors(path);
        using var before = model.state_dict()["features.0.0.weight"].clone();

        var error = Assert.Throws<WeightsMismatchException>(() => model.LoadSafetensors(path));

        Assert.Contains("classifier.1.weight (model [10, 1280], weights [1000, 1280])", error.Message);
        Assert.Contains("nothing was loaded", error.Message);
        Assert.Equal(new[] { "classifier.1.weight", "classifier.1.bias" }, error.Comparison.ShapeMismatched.Select(m => m.Name));
        TensorAssert.Identical(before, model.state_dict()["features.0.0.weight"]);
    }

    [Fact]
    public void KeepNewClassifier_loads_the_backbone_and_leaves_a_new_classifier_as_initialized()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var imagenet = EfficientNetModel.Create("b0", numClasses: 1000);
        using var model = EfficientNetModel.Create("b0", numClasses: 10);
        var path = folder.File("imagenet.safetensors");
        imagenet.SaveSafetensors(path);
        using var classifierBefore = model.state_dict()["classifier.1.weight"].clone();

        var report = model.LoadSafetensors(path, WeightLoadMode.KeepNewClassifier);

        Assert.Equal(new[] { "classifier.1.weight", "classifier.1.bias" }, report.KeptFromModel);
        Assert.Equal(358, report.Loaded.Count);
        TensorAssert.Identical(classifierBefore, model.state_dict()["classifier.1.weight"]);
        TensorAssert.Identical(imagenet.state_dict()["features.8.0.weight"], model.state_dict()["features.8.0.weight"]);
    }

    [Fact]
    public void KeepNewClassifier_still_rejects_a_different_backbone()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var b1 = EfficientNetModel.Create("b1", numClasses: 10);
        using var model = EfficientNetModel.Create("b0", numClasses: 10);
        var path = folder.File("b1.safetensors");
        b1.SaveSafetensors(path);

        var error = Assert.Throws<WeightsMismatchException>(() => model.LoadSafetensors(path, WeightLoadMode.KeepNewClassifier));

        Assert.Contains("another version", error.Message);
        Assert.Contains("features.2.2.block.0.0.weight", error.Comparison.Unexpected);
    }

    [Fact]
    public void Weights_with_NaN_are_rejected_before_anything_is_copied()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var source = EfficientNetModel.Create("b0", numClasses: 2);
        using var model = EfficientNetModel.Create("b0", numClasses: 2);
        using (no_grad())
            source.state_dict()["features.5.0.block.1.0.weight"][0, 0, 0, 0] = float.NaN;
        var path = folder.File("nan.safetensors");
        source.SaveSafetensors(path);
        using var before = model.state_dict()["features.0.0.weight"].clone();

        var error = Assert.Throws<WeightsFormatException>(() => model.LoadSafetensors(path));

        Assert.Contains("'features.5.0.block.1.0.weight' holds NaN", error.Message);
        TensorAssert.Identical(before, model.state_dict()["features.0.0.weight"]);
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void Saving_over_an_existing_file_replaces_it_whole()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var model = EfficientNetModel.Create("b0", numClasses: 2);
        var path = folder.File("model.safetensors");
        File.WriteAllText(path, "an older, different file");

        model.SaveSafetensors(path);

        Assert.Equal(model.state_dict().Count, SafetensorsFile.Open(path).Entries.Count);
        Assert.Single(Directory.GetFiles(folder.Path));
    }
}
