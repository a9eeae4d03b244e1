using System.Text.Json;
using EfficientNet.MLNet.Cli;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Network;
using EfficientNet.MLNet.Tests.Pipeline;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Cli;

[Collection(TrainingCollection.Name)]
public class EfficientNetCliTests
{
    static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = EfficientNetCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Summary_json_gives_the_counts_for_the_requested_classes_and_resolution()
    {
        var (exit, output, _) = Run("summary", "b0", "--classes", "10", "--resolution", "224", "--json");

        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(0, exit);
        Assert.Equal("b0", summary.GetProperty("version").GetString());
        Assert.Equal(10, summary.GetProperty("classes").GetInt32());
        Assert.Equal(224, summary.GetProperty("resolution").GetInt32());
        Assert.Equal(4_020_358, summary.GetProperty("parameters").GetInt64());
        Assert.Equal(4_020_358, summary.GetProperty("trainableParameters").GetInt64());
        Assert.Equal(385_814_752 - 990 * 1280, summary.GetProperty("multiplyAdds").GetInt64());
    }

    [Theory]
    [InlineData("V2-S", "v2_s", 21_458_488, 2_849_895_872)]
    [InlineData("tf_efficientnetv2_s", "tf_v2_s", 21_458_488, 2_849_895_872)]
    [InlineData("tf_b0", "tf_b0", 5_288_548, 385_814_752)]
    public void Summary_reads_every_family_by_any_of_its_names_with_torchvisions_counts(string name, string version, long parameters, long multiplyAdds)
    {
        var (exit, output, _) = Run("summary", name, "--resolution", "224", "--json");

        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(0, exit);
        Assert.Equal(version, summary.GetProperty("version").GetString());
        Assert.Equal(parameters, summary.GetProperty("parameters").GetInt64());
        Assert.Equal(multiplyAdds, summary.GetProperty("multiplyAdds").GetInt64());
    }

    [Fact]
    public void Train_with_progressive_learning_on_a_tensorflow_padded_variant_saves_a_model_that_predicts()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 8, size: 32, seed: 4);
        var model = folder.File("tf.zip");

        var train = Run("train", "--data", data, "--version", "tf_b0", "--epochs", "2", "--resolution", "48", "--progressive", "32",
            "--validation-fraction", "0", "--output", model);
        var predict = Run("predict", "--model", model, Directory.GetFiles(Path.Combine(data, "circle"))[0], "--json");

        Assert.True(train.Exit == 0, train.Error + train.Output);
        Assert.Contains("trained at 32 px", train.Output);
        Assert.Contains("trained at 48 px", train.Output);
        Assert.True(predict.Exit == 0, predict.Error);
        Assert.Contains(JsonDocument.Parse(predict.Output).RootElement[0].GetProperty("top")[0].GetProperty("label").GetString(), SyntheticShapes.Classes);
    }

    [Fact]
    public void Train_evaluate_and_predict_run_end_to_end_on_an_image_folder()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        var images = SyntheticShapes.Write(data, imagesPerClass: 16, size: 32, seed: 3);
        File.WriteAllText(Path.Combine(data, "circle", "notes.txt"), "not an image");
        var model = folder.File("out/model.zip");

        var train = Run("train", "--data", data, "--epochs", "2", "--resolution", "32", "--validation-fraction", "0.25", "--output", model);
        var evaluate = Run("evaluate", "--model", model, "--data", data, "--json");
        var predict = Run("predict", "--model", model, Path.Combine(data, "square"), images[0].ImagePath, "--top", "2", "--json");
        // The engines are compared on a model that tells images apart (this one, trained for 6 steps, gives every image
        // the same probabilities: QuickCliModel).
        using var strongFolder = new FixturePaths.TemporaryFolder();
        var (strongImages, strongModel) = QuickCliModel.Train(strongFolder, imagesPerClass: 4, seed: 3);
        var strongPaths = strongImages.Select(i => i.ImagePath).ToArray();
        var predictWithOnnx = Run(["predict", "--model", strongModel, .. strongPaths, "--top", "0", "--json"]);
        var predictWithTorchSharp = Run(["predict", "--model", strongModel, .. strongPaths, "--top", "0", "--json", "--engine", "torchsharp"]);
        var unknownEngine = Run("predict", "--model", model, images[0].ImagePath, "--engine", "tensorrt");
        var evaluateFlipped = Run("evaluate", "--model", model, "--data", data, "--json", "--tta", "crops");
        var predictFlipped = Run("predict", "--model", model, images[0].ImagePath, "--top", "0", "--json", "--tta", "flip");
        var predictPlain = Run("predict", "--model", model, images[0].ImagePath, "--top", "0", "--json");
        var predictCropped = Run("predict", "--model", model, images[0].ImagePath, "--top", "0", "--json", "--tta", "fivecrops");

        Assert.True(train.Exit == 0, train.Error);
        Assert.Contains("64 images in 4 classes", train.Output);
        Assert.Contains("skipped 1 files that are not images", train.Output);
        Assert.Contains("epoch 2: train loss", train.Output);
        var metrics = JsonDocument.Parse(File.ReadAllText(folder.File("out/metrics.json"))).RootElement;
        Assert.Equal(2, metrics.GetProperty("epochs").GetArrayLength());
        Assert.Equal(1, metrics.GetProperty("skippedFiles").GetArrayLength());
        foreach (var chart in new[] { "training-curves.png", "confusion-matrix.png" })
            using (var bitmap = SKBitmap.Decode(folder.File($"out/{chart}")))
                Assert.True(bitmap.Width > 300, chart);
        Assert.Empty(Directory.GetFiles(folder.File("out"), "*.tmp"));

        Assert.True(evaluate.Exit == 0, evaluate.Error);
        var report = JsonDocument.Parse(evaluate.Output).RootElement;
        Assert.Equal(SyntheticShapes.Classes.Order(), report.GetProperty("Classes").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.Equal(64, report.GetProperty("ConfusionMatrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetDouble()));
        // Micro accuracy is the confusion matrix's diagonal over all images.
        var confusion = report.GetProperty("ConfusionMatrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, 4).Sum(c => confusion[c][c]) / 64, report.GetProperty("MicroAccuracy").GetDouble(), 10);
        Assert.Equal(4, report.GetProperty("PerClass").GetArrayLength());

        Assert.True(predict.Exit == 0, predict.Error);
        var predictions = JsonDocument.Parse(predict.Output).RootElement.EnumerateArray().ToList();
        Assert.Equal(17, predictions.Count); // 16 squares and one circle
        Assert.All(predictions, p =>
        {
            var top = p.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetSingle()).ToList();
            Assert.Equal(2, top.Count);
            Assert.True(top[0] >= top[1] && top.Sum() <= 1.0001f);
        });
        // The default engine is ONNX Runtime here; TorchSharp scores the same model to within rounding.
        Assert.True(predictWithTorchSharp.Exit == 0, predictWithTorchSharp.Error);
        Assert.True(predictWithOnnx.Exit == 0, predictWithOnnx.Error);
        var byImage = JsonDocument.Parse(predictWithOnnx.Output).RootElement.EnumerateArray().Select(BatchScoringCliTests.AllProbabilities).ToList();
        var byImageTorchSharp = JsonDocument.Parse(predictWithTorchSharp.Output).RootElement.EnumerateArray().Select(BatchScoringCliTests.AllProbabilities).ToList();
        Assert.Equal(strongPaths.Length, byImage.Count);
        CalibratedNetwork.AssertInputDependent(byImage, 0.01f);
        for (var i = 0; i < byImage.Count; i++)
            Assert.Equal(byImage[i], byImageTorchSharp[i], new ToleranceComparer(1e-4f));
        Assert.Equal((2, true), (unknownEngine.Exit, unknownEngine.Error.Contains("--engine must be auto, onnx or torchsharp; got 'tensorrt'")));
        // Test-time augmentation runs through the CLI (TestTimeAugmentationTests checks the averaging itself: a network this
        // briefly trained is nearly mirror-symmetric, so the probabilities barely move).
        Assert.True(evaluateFlipped.Exit == 0, evaluateFlipped.Error);
        Assert.Equal(64, JsonDocument.Parse(evaluateFlipped.Output).RootElement.GetProperty("ConfusionMatrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetDouble()));
        Assert.True(predictFlipped.Exit == 0, predictFlipped.Error);
        Assert.Equal(Probabilities(predictPlain.Output), Probabilities(predictFlipped.Output), new ToleranceComparer(0.05f));
        Assert.Equal(1, Probabilities(predictFlipped.Output).Sum(), 3);
        Assert.True(predictCropped.Exit == 0, predictCropped.Error);
        Assert.Equal(1, Probabilities(predictCropped.Output).Sum(), 3);
        Assert.Equal(Probabilities(predictPlain.Output), Probabilities(predictCropped.Output), new ToleranceComparer(0.05f));
    }

    [Fact]
    public void Train_from_a_model_continues_it_on_the_same_classes_or_its_backbone_on_new_ones()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 8, size: 32, seed: 5);
        var twoClasses = folder.File("two");
        foreach (var shape in new[] { "circle", "cross" })
            foreach (var file in Directory.GetFiles(Path.Combine(data, shape)))
                File.Copy(file, Path.Combine(Directory.CreateDirectory(Path.Combine(twoClasses, shape)).FullName, Path.GetFileName(file)));
        var first = folder.File("first/model.zip");

        var train = Run("train", "--data", data, "--epochs", "1", "--resolution", "40", "--validation-fraction", "0", "--output", first);
        var same = Run("train", "--data", data, "--from", first, "--epochs", "1", "--validation-fraction", "0", "--output", folder.File("same/model.zip"));
        var other = Run("train", "--data", twoClasses, "--from", first, "--freeze-backbone", "--epochs", "1", "--validation-fraction", "0", "--output", folder.File("other/model.zip"));
        var withWeights = Run("train", "--data", data, "--from", first, "--weights", "imagenet", "--output", folder.File("bad/model.zip"));
        var otherVersion = Run("train", "--data", data, "--from", first, "--version", "b1", "--output", folder.File("bad/model.zip"));
        var frozenFromScratch = Run("train", "--data", data, "--freeze-backbone", "--output", folder.File("bad/model.zip"));

        Assert.True(train.Exit == 0, train.Error);
        Assert.True(same.Exit == 0, same.Error);
        Assert.Contains($"Continuing EfficientNet-b0 from {first}", same.Output);
        var sameMetrics = JsonDocument.Parse(File.ReadAllText(folder.File("same/metrics.json"))).RootElement;
        Assert.Equal(40, sameMetrics.GetProperty("imageSize").GetInt32()); // the previous model's size
        Assert.True(other.Exit == 0, other.Error);
        var otherMetrics = JsonDocument.Parse(File.ReadAllText(folder.File("other/metrics.json"))).RootElement;
        Assert.Equal(new[] { "circle", "cross" }, otherMetrics.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.Equal((2, true), (withWeights.Exit, withWeights.Error.Contains("either --from") && withWeights.Error.Contains("--weights")));
        Assert.Equal((2, true), (otherVersion.Exit, otherVersion.Error.Contains("Version = \"b0\"")));
        Assert.Equal((2, true), (frozenFromScratch.Exit, frozenFromScratch.Error.Contains("FreezeBackbone needs trained weights")));
        Assert.False(Directory.Exists(folder.File("bad")) && Directory.GetFiles(folder.File("bad")).Length > 0, "a refused run wrote files");
    }

    [Fact]
    public void Train_with_the_recipe_options_logs_them_and_bad_values_exit_with_2_naming_the_option()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 8, size: 32, seed: 4);
        var common = new[] { "train", "--data", data, "--epochs", "2", "--resolution", "32", "--validation-fraction", "0.25" };

        var trained = Run(common.Concat(new[] { "--augment-policy", "randaugment", "--randaugment-ops", "1", "--random-erasing", "0.5", "--mixup", "0.2",
            "--cutmix", "1", "--mixup-off-epoch", "2", "--model-ema", "0.9", "--balance-classes", "--norm-weight-decay", "0", "--layer-decay", "0.7",
            "--flip", "--return-memory", "--verbose", "--checkpoint-dir", folder.File("checkpoints"), "--output", folder.File("out/model.zip") }).ToArray());
        var policy = Run(common.Concat(new[] { "--augment-policy", "autoaugment" }).ToArray());
        var erasing = Run(common.Concat(new[] { "--random-erasing", "2" }).ToArray());
        var bothFlips = Run(common.Concat(new[] { "--flip", "--no-flip" }).ToArray());
        var mixupOffAlone = Run(common.Concat(new[] { "--mixup-off-epoch", "2" }).ToArray());
        var randAugmentOpsAlone = Run(common.Concat(new[] { "--augment-policy", "trivialaugment", "--randaugment-ops", "2" }).ToArray());
        var overwriteAlone = Run(common.Concat(new[] { "--overwrite-checkpoint" }).ToArray());
        var tta = Run("evaluate", "--model", folder.File("out/model.zip"), "--data", data, "--tta", "rotate");
        var ttaWithWeights = Run("predict", "--weights", "imagenet", Directory.GetFiles(Path.Combine(data, "circle"))[0], "--tta", "flip");
        File.WriteAllLines(folder.File("labels.txt"), new[] { "a", "b", "c" });
        var labelsWithModel = Run("predict", "--model", folder.File("out/model.zip"), Directory.GetFiles(Path.Combine(data, "circle"))[0], "--labels", folder.File("labels.txt"));
        var badDeviceWithWeights = Run("predict", "--weights", "imagenet", "--version", "b0", Directory.GetFiles(Path.Combine(data, "circle"))[0], "--device", "gpu");

        Assert.True(trained.Exit == 0, trained.Error);
        Assert.True(File.Exists(folder.File("out/model.zip")));
        // What reached the trainer: its log (--balance-classes) and the run the checkpoint names (every recipe option).
        Assert.Contains("Class weights in the loss: ", trained.Output);
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.File("checkpoints"), "checkpoint.json"))))
        {
            var run = manifest.RootElement.GetProperty("run");
            Assert.Equal("RandAugment", run.GetProperty("augmentationPolicy").GetString());
            Assert.Equal(1, run.GetProperty("randAugmentOperations").GetInt32());
            Assert.Equal(0.5, run.GetProperty("randomErasingProbability").GetDouble());
            Assert.Equal((0.2, 1.0, 2), (run.GetProperty("mixup").GetProperty("mixupAlpha").GetDouble(),
                run.GetProperty("mixup").GetProperty("cutMixAlpha").GetDouble(), run.GetProperty("mixup").GetProperty("offEpoch").GetInt32()));
            Assert.Equal(0.9, run.GetProperty("modelEma").GetProperty("decay").GetDouble());
            Assert.True(run.GetProperty("balanceClasses").GetBoolean());
            Assert.Equal(0.0, run.GetProperty("normAndBiasWeightDecay").GetDouble());
            Assert.Equal(0.7, run.GetProperty("layerLearningRateDecay").GetDouble());
            Assert.True(run.GetProperty("horizontalFlip").GetBoolean());
        }
        Assert.Equal((2, true), (policy.Exit, policy.Error.Contains("--augment-policy must be none, trivialaugment, randaugment or augmix; got 'autoaugment'")));
        Assert.Equal((2, true), (erasing.Exit, erasing.Error.Contains("RandomErasingProbability must be in [0, 1]")));
        Assert.Equal((2, true), (bothFlips.Exit, bothFlips.Error.Contains("Give --flip or --no-flip, not both.")));
        Assert.Equal((2, true), (mixupOffAlone.Exit, mixupOffAlone.Error.Contains("--mixup-off-epoch works with --mixup or --cutmix")));
        Assert.Equal((2, true), (randAugmentOpsAlone.Exit, randAugmentOpsAlone.Error.Contains("--randaugment-ops works with --augment-policy randaugment")));
        Assert.Equal((2, true), (overwriteAlone.Exit, overwriteAlone.Error.Contains("--overwrite-checkpoint works with --checkpoint-dir and without --resume")));
        Assert.Equal((2, true), (tta.Exit, tta.Error.Contains("--tta must be none, flip, crops or fivecrops; got 'rotate'")));
        Assert.Equal((2, true), (ttaWithWeights.Exit, ttaWithWeights.Error.Contains("--tta works with --model")));
        Assert.Equal((2, true), (labelsWithModel.Exit, labelsWithModel.Error.Contains("--labels works with --weights (pretrained weights), not with --model")));
        Assert.Equal((2, true), (badDeviceWithWeights.Exit, badDeviceWithWeights.Error.Contains("--device must be auto, cpu, cuda or cuda:N; got 'gpu'")));
    }

    static float[] Probabilities(string json) => JsonDocument.Parse(json).RootElement.EnumerateArray()
        .SelectMany(p => p.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetSingle())).ToArray();

    [Fact]
    public void Skip_unreadable_trains_on_the_rest_and_lists_the_skipped_files()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var data = folder.File("data");
        SyntheticShapes.Write(data, imagesPerClass: 6, size: 32, seed: 5);
        var broken = Path.Combine(data, "square", "broken.png");
        File.WriteAllText(broken, "garbage, not a PNG");

        var refused = Run("train", "--data", data, "--epochs", "1", "--resolution", "32", "--output", folder.File("a/model.zip"));
        var skipped = Run("train", "--data", data, "--epochs", "1", "--resolution", "32", "--validation-fraction", "0", "--skip-unreadable", "--output", folder.File("b/model.zip"));

        Assert.Equal(2, refused.Exit);
        Assert.Contains(broken, refused.Error);
        Assert.True(skipped.Exit == 0, skipped.Error);
        Assert.Contains($"Skipped 1 unreadable images:", skipped.Output);
        Assert.Contains(broken, skipped.Output);
        var metrics = JsonDocument.Parse(File.ReadAllText(folder.File("b/metrics.json"))).RootElement;
        Assert.Equal(broken, Assert.Single(metrics.GetProperty("skippedImages").EnumerateArray()).GetString());
        Assert.Equal(24, metrics.GetProperty("trainImages").GetInt32()); // 25 rows given, one left out
    }

    [Fact]
    public void Bad_usage_and_bad_input_exit_with_2_and_say_what_and_where()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var single = folder.File("single");
        SyntheticShapes.Write(folder.File("all"), imagesPerClass: 2, size: 16);
        Directory.CreateDirectory(Path.Combine(single, "only"));
        File.Copy(Directory.GetFiles(folder.File("all/circle"))[0], Path.Combine(single, "only", "a.png"));
        var corrupt = folder.File("corrupt");
        Directory.CreateDirectory(Path.Combine(corrupt, "a"));
        Directory.CreateDirectory(Path.Combine(corrupt, "b"));
        File.WriteAllText(Path.Combine(corrupt, "a", "broken.png"), "garbage, not a PNG");
        File.Copy(Directory.GetFiles(folder.File("all/square"))[0], Path.Combine(corrupt, "b", "fine.png"));

        var missing = Run("train", "--data", folder.File("nowhere"));
        var oneClass = Run("train", "--data", single);
        var broken = Run("train", "--data", corrupt, "--epochs", "1", "--resolution", "32");
        var version = Run("train", "--data", folder.File("all"), "--version", "b9");
        var unknownOption = Run("train", "--data", single, "--frobnicate");
        var noModel = Run("evaluate", "--model", folder.File("none.zip"), "--data", folder.File("all"));

        Assert.Equal((2, true), (missing.Exit, missing.Error.Contains("does not exist")));
        Assert.Equal((2, true), (oneClass.Exit, oneClass.Error.Contains("single class ('only')")));
        Assert.Equal((2, true), (broken.Exit, broken.Error.Contains(Path.Combine(corrupt, "a", "broken.png"))));
        Assert.Equal((2, true), (version.Exit, version.Error.Contains("b0, b1, b2, b3, b4, b5, b6, b7")));
        Assert.Equal((2, true), (unknownOption.Exit, unknownOption.Error.Contains("--frobnicate")));
        Assert.Equal((2, true), (noModel.Exit, noModel.Error.Contains("none.zip")));
        Assert.False(File.Exists("model.zip"), "a failed run leaves no model behind");
    }
}
