// Transfer learning: start from pretrained weights, train a new classifier on a frozen backbone, then fine-tune all.
//
//   dotnet run --project examples/TransferLearning
//       No download is possible or needed: it first makes its own "pretrained" weights (EfficientNet-B0 trained on
//       the four generated shapes, exported as safetensors in torchvision's names), then transfers them to a new task
//       (round versus angular shapes) with few images.
//   dotnet run --project examples/TransferLearning -- imagenet <folder> [resolution]
//       torchvision's ImageNet weights for EfficientNet-B0, fetched into the weights cache on first use (any name
//       'efficientnet weights list' shows works too), and your images (one subfolder per class).
//   dotnet run --project examples/TransferLearning -- efficientnet_b0.safetensors <folder> [resolution]
//       Your weights file instead (safetensors or a torch.save .pth, in torchvision's or timm's names).
using EfficientNet.MLNet;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;

var work = Path.Combine(Path.GetTempPath(), "efficientnet-transfer-learning");
var resolution = args.Length > 2 ? int.Parse(args[2]) : 48;
var ml = new MLContext(seed: 1);

string weights;
List<LabeledImage> images;
if (args.Length >= 2)
{
    weights = File.Exists(args[0]) ? Path.GetFullPath(args[0]) : args[0]; // a file, or a registry name such as "imagenet"
    images = ImageFolderDataset.Read(args[1]).Images.ToList();
}
else
{
    // 1. "Pretraining": learn the four shapes, then keep the network's weights in torchvision's format.
    weights = Path.Combine(work, "pretrained-b0.safetensors");
    var pretrainImages = SyntheticShapes.Write(Path.Combine(work, "pretrain"), imagesPerClass: 150, size: resolution, seed: 1);
    using (var pretrained = Train(pretrainImages, new EfficientNetTrainer.Options { ImageSize = resolution, Epochs = 12, Augment = false, Seed = 1 }, "1. Pretrain on four shapes"))
        pretrained.Model.SaveSafetensors(weights, new Dictionary<string, string> { ["source"] = "TransferLearning example" });
    Console.WriteLine($"   saved {weights}");

    // The new task: few images, two new classes made from the shapes.
    images = SyntheticShapes.Write(Path.Combine(work, "task"), imagesPerClass: 20, size: resolution, seed: 99)
        .Select(i => new LabeledImage(i.ImagePath, i.Label == "circle" ? "round" : "angular")).ToList();
}

// 2. Transfer: the backbone comes from the file and stays frozen; only the new two-class classifier learns.
var frozenWeights = Path.Combine(work, "after-frozen.safetensors");
using (var frozen = Train(images, new EfficientNetTrainer.Options
       {
           ImageSize = resolution, Epochs = 5, Augment = false, Seed = 1, LearningRate = 1e-2,
           PretrainedWeights = weights, FreezeBackbone = true,
       }, "2. New classifier on the frozen pretrained backbone"))
    frozen.Model.SaveSafetensors(frozenWeights);

// 3. Fine-tune: everything learns, from where step 2 ended (its classifier matches, so it is loaded too), gently.
using (Train(images, new EfficientNetTrainer.Options
       {
           ImageSize = resolution, Epochs = 4, Augment = false, Seed = 1, LearningRate = 2e-4, WarmupEpochs = 0,
           PretrainedWeights = frozenWeights,
       }, "3. Fine-tune the whole network"))
{
}

EfficientNetTransformer Train(IReadOnlyList<LabeledImage> rows, EfficientNetTrainer.Options options, string title)
{
    Console.WriteLine(title);
    var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(rows), testFraction: 0.3, seed: 1);
    var prepare = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", "", nameof(LabeledImage.ImagePath)))
        .Fit(split.TrainSet);
    var classifier = ml.MulticlassClassification.Trainers.EfficientNet(options with
    {
        EpochCompleted = epoch => Console.WriteLine($"   {epoch}"),
    }).Fit(prepare.Transform(split.TrainSet));
    var metrics = ml.MulticlassClassification.Evaluate(classifier.Transform(prepare.Transform(split.TestSet)));
    Console.WriteLine($"   test accuracy {metrics.MicroAccuracy:P1} on {ml.Data.CreateEnumerable<LabeledImage>(split.TestSet, false).Count()} images " +
                      $"({string.Join(", ", classifier.ClassNames)})");
    return classifier;
}
