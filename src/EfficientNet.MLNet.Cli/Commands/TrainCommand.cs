using System.CommandLine;
using System.Text.Json;
using EfficientNet.MLNet.Reporting;
using EfficientNet.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet train --data folder ...</c>: trains on a folder of class subfolders, holds out a validation
/// part, and writes the model zip, metrics.json, training-curves.png and confusion-matrix.png. Or
/// <c>efficientnet train --labels-csv data.csv ...</c>: a multi-label model from a CSV of image paths and their labels
/// ("dog;person"), with per-label.png instead of the confusion matrix.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output)
    {
        var data = new Option<string?>("--data") { Description = "A folder with one subfolder of images per class" };
        var multiLabel = new MultiLabelCsvOptions();
        var precisionTarget = new Option<double?>("--precision-target") { Description = "Multi-label: choose each label's threshold for the most recall at this precision on the validation images (default: the highest F1)" };
        var augment = new Option<bool>("--augment") { Description = "Random resized crops while training: the default with --data; with --labels-csv off unless given (a crop can cut a labelled object off the image)" };
        var loss = new Option<string>("--loss") { Description = "Multi-label: bce (binary cross-entropy, rare labels' positives weighted) or asymmetric (Ridnik et al. 2021)", DefaultValueFactory = _ => "bce" };
        var version = new Option<string?>("--version") { Description = "b0 to b7, v2_s, v2_m or v2_l; tf_b0 .. tf_v2_l for TensorFlow-ported weights (default: b0, or the --from model's)" };
        var from = new Option<string?>("--from") { Description = "Continue training a model zip written by train: same classes, the whole network continues; other classes, its backbone with a fresh classifier" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16 };
        var resolution = new Option<int?>("--resolution") { Description = "Square image size (default: the variant's; 64 to 128 train fast on a CPU)" };
        var learningRate = new Option<double>("--learning-rate") { DefaultValueFactory = _ => 1e-3 };
        var validationFraction = new Option<double>("--validation-fraction") { Description = "Part of the images held out to validate", DefaultValueFactory = _ => 0.2 };
        var weights = new Option<string?>("--weights") { Description = "Pretrained weights to start from: a name (imagenet, or see 'efficientnet weights list') or a .safetensors/.pth file in torchvision's or timm's names" };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train only the classifier (needs --weights or --from)" };
        var ema = new Option<bool>("--ema") { Description = "With --weights a training checkpoint: start from its moving average of the weights (model_ema, state_dict_ema)" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var modelPath = new Option<string>("--output") { Description = "The model zip to write", DefaultValueFactory = _ => "model.zip" };
        var skipUnreadable = new Option<bool>("--skip-unreadable") { Description = "Leave out images that cannot be read, and list them (default: stop at the first)" };
        var checkpointDirectory = new Option<string?>("--checkpoint-dir") { Description = "Save a checkpoint here after every epoch (weights, optimizer state, epoch, history)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --checkpoint-dir (same data and options), e.g. after the process was killed" };
        var progressive = new Option<int?>("--progressive") { Description = "EfficientNetV2's progressive learning: start at this image size, and grow it, the dropout and the augmentation over 4 stages to the final ones" };
        var overwriteCheckpoint = new Option<bool>("--overwrite-checkpoint") { Description = "Start afresh in a --checkpoint-dir that holds another run's checkpoint, deleting that run's files" };
        // The recipe's options default to the library's defaults (docs/TRAINING.md measures them).
        var defaults = new EfficientNetTrainer.Options();
        var policy = new Option<string>("--augment-policy") { Description = "Automatic augmentation after crop and flip: none, trivialaugment, randaugment or augmix", DefaultValueFactory = _ => PolicyName(defaults.AugmentationPolicy) };
        var randAugmentOperations = new Option<int>("--randaugment-ops") { Description = "RandAugment: operations per image", DefaultValueFactory = _ => defaults.RandAugmentOperations };
        var randAugmentMagnitude = new Option<int>("--randaugment-magnitude") { Description = "RandAugment: strength, 0 to 30", DefaultValueFactory = _ => defaults.RandAugmentMagnitude };
        var erasing = new Option<double>("--random-erasing") { Description = "Chance that an image gets a random box erased (0: off)", DefaultValueFactory = _ => defaults.RandomErasingProbability };
        var mixupAlpha = new Option<double>("--mixup") { Description = "Mixup's Beta alpha (0: off)", DefaultValueFactory = _ => defaults.Mixup?.MixupAlpha ?? 0 };
        var cutMixAlpha = new Option<double>("--cutmix") { Description = "CutMix's Beta alpha (0: off)", DefaultValueFactory = _ => defaults.Mixup?.CutMixAlpha ?? 0 };
        var mixupOff = new Option<int?>("--mixup-off-epoch") { Description = "Train without mixup and CutMix from this epoch on" };
        var modelEma = new Option<double>("--model-ema") { Description = "Keep a moving average of the weights with this decay per step, and use it (0: off)", DefaultValueFactory = _ => defaults.ModelEma?.Decay ?? 0 };
        var flip = new Option<bool>("--flip") { Description = "Mirror half of the training images (for photographs of things whose mirror image is the same thing)" };
        var noFlip = new Option<bool>("--no-flip") { Description = "Do not mirror training images (the default; for digits, text)" };
        var returnMemory = new Option<bool>("--return-memory") { Description = "Let the C allocator give freed memory back to the system after every step (Linux): lower peak memory, slower training" };
        var verbose = new Option<bool>("--verbose") { Description = "Also print the trainer's log: device, seed, image cache, memory settings, warnings" };
        var balance = new Option<bool>("--balance-classes") { Description = "Weight each class's loss by n / (classes x n_class)" };
        var normDecay = new Option<double?>("--norm-weight-decay") { Description = "Weight decay of batch-norm and bias parameters (default: as the others)", DefaultValueFactory = _ => defaults.NormAndBiasWeightDecay };
        var layerDecay = new Option<double>("--layer-decay") { Description = "Layer-wise learning-rate decay per stage towards the stem, for fine-tuning (1: off)", DefaultValueFactory = _ => defaults.LayerLearningRateDecay };
        var command = new Command("train", "Train a classifier on a folder of images, or a multi-label one on a CSV of images and labels")
        {
            data, precisionTarget, loss, augment, version, from, epochs, batchSize, resolution, learningRate, validationFraction, weights, ema, freeze, seed, device, modelPath, skipUnreadable,
            checkpointDirectory, resume, overwriteCheckpoint, progressive, policy, randAugmentOperations, randAugmentMagnitude, erasing, mixupAlpha, cutMixAlpha,
            mixupOff, modelEma, balance, normDecay, layerDecay, flip, noFlip, returnMemory, verbose,
        };
        foreach (var option in multiLabel.Options)
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var csv = multiLabel.Read(parse, forTraining: true, skipMissing: parse.GetValue(skipUnreadable));
            if (csv is null && parse.GetValue(data) is null)
                throw new CliInputException("Give --data (a folder with one subfolder of images per class) or --labels-csv (a CSV of image paths and their labels, for a multi-label model).");
            if (csv is not null && parse.GetValue(data) is not null)
                throw new CliInputException("Give either --data (a folder of class subfolders) or --labels-csv (multi-label), not both.");
            if (csv is null && (Given(parse, precisionTarget) ? "--precision-target" : Given(parse, loss) ? "--loss" : null) is { } multiLabelOnly)
                throw new CliInputException($"{multiLabelOnly} works with --labels-csv (a multi-label model).");
            if (csv is not null && !parse.GetValue(augment)
                && (parse.GetValue(flip) ? "--flip" : ParsePolicy(parse.GetValue(policy)) != AugmentationPolicy.None ? "--augment-policy" : parse.GetValue(erasing) > 0 ? "--random-erasing" : null) is { } augmenting)
                throw new CliInputException($"{augmenting} augments a multi-label model only with --augment (its random crops are off by default with --labels-csv: a crop can cut a labelled object off the image).");
            if (csv is not null && parse.GetValue(balance))
                throw new CliInputException("--balance-classes is for one class per image; a multi-label model weights its rare labels' positives itself.");
            var folder = csv is null ? ImageFolder.Read(parse.GetValue(data)!, forTraining: true) : null;
            IReadOnlyList<Datasets.LabeledImage> images = folder?.Images ?? csv!.Images;
            var fraction = parse.GetValue(validationFraction);
            if (fraction is < 0 or >= 1) throw new CliInputException($"--validation-fraction must be in [0, 1); got {fraction}.");
            output.WriteLine(folder is not null
                ? $"{folder.Images.Count} images in {folder.Classes.Count} classes ({string.Join(", ", folder.Classes)}) from {folder.Path}" +
                  (folder.Skipped.Count > 0 ? $"; skipped {folder.Skipped.Count} files that are not images" : "")
                : $"{csv!.Images.Count} images with {csv.Labels.Count} labels ({string.Join(", ", csv.Labels)}) from {csv.Path}");
            if (parse.GetValue(resume) && parse.GetValue(checkpointDirectory) is null)
                throw new CliInputException("--resume needs --checkpoint-dir: the folder the interrupted run saved its checkpoints in.");
            // Flags that only act with another one: refused rather than dropped.
            if (parse.GetValue(overwriteCheckpoint) && (parse.GetValue(checkpointDirectory) is null || parse.GetValue(resume)))
                throw new CliInputException("--overwrite-checkpoint works with --checkpoint-dir and without --resume: it starts afresh in that folder, deleting the run saved there.");
            if (parse.GetValue(mixupOff) is not null && parse.GetValue(mixupAlpha) <= 0 && parse.GetValue(cutMixAlpha) <= 0)
                throw new CliInputException("--mixup-off-epoch works with --mixup or --cutmix, which are off.");
            if ((Given(parse, randAugmentOperations) ? "--randaugment-ops" : Given(parse, randAugmentMagnitude) ? "--randaugment-magnitude" : null) is { } randAugmentOnly
                && ParsePolicy(parse.GetValue(policy)) != AugmentationPolicy.RandAugment)
                throw new CliInputException($"{randAugmentOnly} works with --augment-policy randaugment.");
            var skipping = parse.GetValue(skipUnreadable);
            if (!skipping)
                ImageCheck.RequireReadable(images.Select(i => i.ImagePath));

            if (parse.GetValue(from) is not null && parse.GetValue(weights) is not null)
                throw new CliInputException("Give either --from (a model zip to continue) or --weights (pretrained weights to start from), not both.");
            var ml = new MLContext(parse.GetValue(seed));
            // The trainer's log lines, but its per-epoch lines, which the training display prints already.
            if (parse.GetValue(verbose))
                ml.Log += (_, e) =>
                {
                    if (e.Source.StartsWith(nameof(EfficientNetTrainer), StringComparison.Ordinal) && e.Kind is ChannelMessageKind.Info or ChannelMessageKind.Warning
                        && !e.RawMessage.StartsWith("epoch ", StringComparison.Ordinal))
                        lock (output)
                            output.WriteLine((e.Kind == ChannelMessageKind.Warning ? "warning: " : "") + e.RawMessage);
                };
            using var previous = parse.GetValue(from) is { } previousPath ? ModelFile.Load(ml, previousPath).Classifier : null;
            var all = ml.Data.LoadFromEnumerable(images);
            var split = fraction > 0 ? ml.Data.TrainTestSplit(all, fraction, seed: parse.GetValue(seed)) : (DataOperationsCatalog.TrainTestData?)null;
            var trainSet = split?.TrainSet ?? all;
            // A multi-label model reads the label text itself ("dog;person"); one class per image needs keys.
            var prepare = csv is null
                ? ml.Transforms.Conversion.MapValueToKey("Label").Append<ITransformer>(ml.Transforms.LoadImages("Image", "", "ImagePath")).Fit(all)
                : (ITransformer)ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(all);
            var validation = split is { } held ? prepare.Transform(held.TestSet) : null;
            var options = new EfficientNetTrainer.Options
            {
                Version = parse.GetValue(version) ?? previous?.Version ?? "b0",
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                ImageSize = parse.GetValue(resolution),
                LearningRate = parse.GetValue(learningRate),
                ValidationSet = validation,
                PretrainedWeights = parse.GetValue(weights),
                FreezeBackbone = parse.GetValue(freeze),
                UseEmaWeights = parse.GetValue(ema),
                Seed = parse.GetValue(seed),
                Device = parse.GetValue(device)!,
                SkipUnreadableImages = skipping,
                CheckpointDirectory = parse.GetValue(checkpointDirectory),
                ResumeFromCheckpoint = parse.GetValue(resume),
                OverwriteCheckpoint = parse.GetValue(overwriteCheckpoint),
                ProgressiveLearning = parse.GetValue(progressive) is { } start
                    ? new ProgressiveLearning(start, Stages: Math.Min(4, parse.GetValue(epochs)))
                    : null,
                AugmentationPolicy = ParsePolicy(parse.GetValue(policy)),
                RandAugmentOperations = parse.GetValue(randAugmentOperations),
                RandAugmentMagnitude = parse.GetValue(randAugmentMagnitude),
                RandomErasingProbability = parse.GetValue(erasing),
                Mixup = parse.GetValue(mixupAlpha) > 0 || parse.GetValue(cutMixAlpha) > 0
                    ? (defaults.Mixup ?? new Mixup()) with { MixupAlpha = parse.GetValue(mixupAlpha), CutMixAlpha = parse.GetValue(cutMixAlpha), OffEpoch = parse.GetValue(mixupOff) }
                    : null,
                ModelEma = parse.GetValue(modelEma) > 0 ? (defaults.ModelEma ?? new ModelEma()) with { Decay = parse.GetValue(modelEma) } : null,
                BalanceClasses = parse.GetValue(balance),
                HorizontalFlip = (parse.GetValue(flip), parse.GetValue(noFlip)) switch
                {
                    (true, true) => throw new CliInputException("Give --flip or --no-flip, not both."),
                    (var on, _) => on,
                },
                NormAndBiasWeightDecay = parse.GetValue(normDecay),
                LayerLearningRateDecay = parse.GetValue(layerDecay),
                ReuseNativeMemory = !parse.GetValue(returnMemory),
                Augment = parse.GetValue(augment) ? true : null,
                MultiLabel = csv is null ? null : new MultiLabelOptions
                {
                    // Every row's labels: a rare label whose rows all fall in the validation part is still one of the model's.
                    Labels = csv.Labels,
                    Separator = multiLabel.Separator(parse),
                    PrecisionTarget = parse.GetValue(precisionTarget),
                    Loss = parse.GetValue(loss)?.Trim().ToLowerInvariant() switch
                    {
                        "bce" => MultiLabelLossKind.BinaryCrossEntropy,
                        "asymmetric" or "asl" => MultiLabelLossKind.Asymmetric,
                        var other => throw new CliInputException($"--loss must be bce or asymmetric; got '{other}'."),
                    },
                },
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e) when (e.ParamName is nameof(MultiLabelOptions.PrecisionTarget))
            {
                throw new CliInputException($"--precision-target must be in (0, 1]; got {parse.GetValue(precisionTarget)}.");
            }
            // The rows of the training and validation data, read once, to name images by their file.
            var trainRows = ml.Data.CreateEnumerable<Datasets.LabeledImage>(trainSet, false).ToList();
            var validationRows = split is { } parts ? ml.Data.CreateEnumerable<Datasets.LabeledImage>(parts.TestSet, false).ToList() : new();
            string PathOf(string dataName, long row) => (dataName == "the validation data" ? validationRows : trainRows)[(int)row].ImagePath;
            output.WriteLine(previous is null
                ? $"Training EfficientNet-{options.Version} for {options.Epochs} epochs..."
                : $"Continuing EfficientNet-{previous.Version} from {parse.GetValue(from)} ({string.Join(", ", previous.ClassNames)}) for {options.Epochs} epochs...");
            if (options.ResumeFromCheckpoint)
                output.WriteLine(File.Exists(Path.Combine(options.CheckpointDirectory!, Training.CheckpointFolder.ManifestName))
                    ? $"Resuming from the checkpoint in {Path.GetFullPath(options.CheckpointDirectory!)}"
                    : $"No checkpoint in {Path.GetFullPath(options.CheckpointDirectory!)} yet: starting from the beginning");
            EfficientNetTransformer trained;
            try
            {
                trained = TrainingDisplay.Run(output, (batchCompleted, epochCompleted) =>
                {
                    var trainer = ml.MulticlassClassification.Trainers.EfficientNet(options with { BatchCompleted = batchCompleted, EpochCompleted = epochCompleted });
                    return previous is null ? trainer.Fit(prepare.Transform(trainSet)) : trainer.Fit(prepare.Transform(trainSet), previous);
                });
            }
            catch (ImageRowException e) when (e.Row < 0)
            {
                throw new CliInputException(e.Message);
            }
            catch (ImageRowException e)
            {
                throw new CliInputException($"The image '{PathOf(e.DataName, e.Row)}' could not be read: {e.Problem}. Replace or remove it, or pass --skip-unreadable.");
            }
            using var classifier = trained;
            var skippedImages = classifier.SkippedImages.Select(s => PathOf(s.DataName, s.Row)).ToList();
            if (skippedImages.Count > 0)
                output.WriteLine($"Skipped {skippedImages.Count} unreadable images:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", skippedImages)}");
            var scoredTrain = classifier.Transform(prepare.Transform(ml.Data.TakeRows(trainSet, 1)));
            var model = prepare.Append<ITransformer>(classifier).Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scoredTrain));

            var path = Path.GetFullPath(parse.GetValue(modelPath)!);
            var directory = Path.GetDirectoryName(path)!;
            object? final = null;
            if (validation is not null && classifier.Task == TaskKind.MultiLabel)
            {
                var metrics = ml.MulticlassClassification.EvaluateMultiLabel(classifier.Transform(validation), separator: classifier.LabelSeparator);
                output.WriteLine($"Validation: {MultiLabelReport.Summary(metrics)}");
                output.WriteLine($"Thresholds ({classifier.ThresholdPolicy}): {string.Join(", ", classifier.ClassNames.Select((name, i) => FormattableString.Invariant($"{name} {classifier.Thresholds![i]:0.###}")))}");
                final = MultiLabelReport.From(metrics);
                PerLabelChart.Save(metrics, Path.Combine(directory, "per-label.png"), "Per label (validation)");
            }
            else if (validation is not null)
            {
                var metrics = ml.MulticlassClassification.Evaluate(classifier.Transform(validation));
                output.WriteLine($"Validation: micro accuracy {metrics.MicroAccuracy:P1}, macro accuracy {metrics.MacroAccuracy:P1}, log loss {metrics.LogLoss:0.000}");
                output.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
                final = EvaluationReport.From(metrics, classifier.ClassNames);
                ConfusionMatrixChart.Save(classifier.ClassNames, metrics.ConfusionMatrix.Counts, Path.Combine(directory, "confusion-matrix.png"), "Confusion matrix (validation)");
            }
            AtomicFile.Write(path, file => ml.Model.Save(model, all.Schema, file));
            AtomicFile.Write(Path.Combine(directory, "metrics.json"), file => File.WriteAllText(file, JsonSerializer.Serialize(new
            {
                version = classifier.Version,
                imageSize = classifier.ImageSize,
                classes = classifier.ClassNames,
                trainImages = trainRows.Count - classifier.SkippedImages.Count(s => s.DataName == "the training data"),
                skippedFiles = folder?.Skipped ?? Array.Empty<string>(),
                task = classifier.Task.ToString(),
                thresholds = classifier.Thresholds,
                skippedImages,
                epochs = classifier.History,
                validation = final,
            }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals })));
            TrainingCurvesChart.Save(classifier.History, Path.Combine(directory, "training-curves.png"));
            output.WriteLine($"Wrote {path}, metrics.json, training-curves.png{(validation is null ? "" : classifier.Task == TaskKind.MultiLabel ? " and per-label.png" : " and confusion-matrix.png")} in {directory}");
            return 0;
        });
        return command;
    }

    static string PolicyName(AugmentationPolicy policy) => policy switch
    {
        AugmentationPolicy.TrivialAugmentWide => "trivialaugment",
        AugmentationPolicy.RandAugment => "randaugment",
        AugmentationPolicy.AugMix => "augmix",
        _ => "none",
    };

    /// <summary>Whether the option was on the command line (not its default).</summary>
    static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    static AugmentationPolicy ParsePolicy(string? value) => (value ?? "none").Trim().ToLowerInvariant() switch
    {
        "none" => AugmentationPolicy.None,
        "trivialaugment" or "trivialaugmentwide" => AugmentationPolicy.TrivialAugmentWide,
        "randaugment" => AugmentationPolicy.RandAugment,
        "augmix" => AugmentationPolicy.AugMix,
        _ => throw new CliInputException($"--augment-policy must be none, trivialaugment, randaugment or augmix; got '{value}'."),
    };
}
