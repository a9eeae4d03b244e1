using System.CommandLine;
using EfficientNet.MLNet.Explanations;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet explain --model model.zip image-or-folder... --output folder [--class NAME]</c>: Grad-CAM heat maps
/// over the images, as PNG files named after them. A multi-label model's image gets one map per label over its threshold
/// (<c>image.LABEL.gradcam.png</c>; the most probable label's when none is over), or the --class label's.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string>("--model") { Description = "A model zip written by train", Required = true };
        var inputs = new Argument<string[]>("images") { Description = "Image files or folders of images", Arity = ArgumentArity.ZeroOrMore };
        var list = new Option<string?>("--list") { Description = "A text file of image paths, one a line" };
        var folder = new Option<string>("--output") { Description = "The folder to write <image>.gradcam.png files in", Required = true };
        var className = new Option<string?>("--class") { Description = "The class to explain (default: each image's predicted class; for a multi-label model, each label over its threshold)" };
        var opacity = new Option<double>("--opacity") { Description = "How strongly the heat map covers the image, 0 to 1", DefaultValueFactory = _ => 0.5 };
        var layer = new Option<int?>("--layer") { Description = "Which layer of the network's features to explain: 0 the stem, then the stages, the last the head convolution (default: the head convolution when its map is at least 7 cells wide, otherwise the first layer of the deepest map that is)" };
        var command = new Command("explain", "Show where in each image the evidence for a class is (Grad-CAM)") { model, inputs, list, folder, className, opacity, layer };
        command.SetAction(parse =>
        {
            var paths = ImageList.Read(parse.GetValue(inputs) ?? Array.Empty<string>(), parse.GetValue(list), skipMissing: false);
            if (paths.Count == 0) throw new CliInputException("No image files were found in the given paths.");
            if (parse.GetValue(opacity) is not (>= 0 and <= 1) and var bad) throw new CliInputException($"--opacity must be between 0 and 1; got {bad}.");
            ImageCheck.RequireReadable(paths);
            var ml = new Microsoft.ML.MLContext();
            var classifier = ModelFile.Load(ml, parse.GetValue(model)!).Classifier;
            var wanted = parse.GetValue(className);
            if (wanted is not null && !classifier.ClassNames.Contains(wanted))
                throw new CliInputException($"--class '{wanted}' is not a class of the model; its classes are {string.Join(", ", classifier.ClassNames)}.");
            var target = Directory.CreateDirectory(parse.GetValue(folder)!).FullName;
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var path in paths)
            {
                var image = File.ReadAllBytes(path);
                using var first = Explain(classifier, image, wanted, parse.GetValue(layer));
                if (written.Count == 0)
                    output.WriteLine($"Explaining features[{first.Layer}] ({first.MapSide} x {first.MapSide} cells at {classifier.ImageSize} px)");
                var multiLabel = classifier.Task == TaskKind.MultiLabel;
                // A multi-label image: one map per label it has (the most probable label's when it has none).
                var labels = multiLabel && wanted is null && first.PredictedLabels.Count > 0 ? first.PredictedLabels : new[] { first.ClassName };
                foreach (var label in labels)
                {
                    using var other = label == first.ClassName ? null : Explain(classifier, image, label, parse.GetValue(layer));
                    var explanation = other ?? first;
                    var file = Unique(target, Path.GetFileNameWithoutExtension(path) + (multiLabel ? $".{FileNameOf(label)}" : ""), written);
                    AtomicFile.Write(file, temporary => File.WriteAllBytes(temporary, explanation.OverlayPng(image, parse.GetValue(opacity))));
                    output.WriteLine($"{path}: {explanation.ClassName} {explanation.Probability:P1}" +
                                     (multiLabel
                                         ? first.PredictedLabels.Contains(label) ? "" : $" (labels over their thresholds: {(first.PredictedLabels.Count == 0 ? "none" : string.Join(", ", first.PredictedLabels))})"
                                         : explanation.PredictedClassName == explanation.ClassName ? "" : $" (predicted {explanation.PredictedClassName})") + $" -> {file}");
                }
            }
            return 0;
        });
        return command;
    }

    // The library checks the layer (before any work on the image); the CLI words its error for the option.
    static GradCamExplanation Explain(EfficientNetTransformer classifier, byte[] image, string? className, int? layer)
    {
        try
        {
            return classifier.Explain(image, className, layer);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "layer")
        {
            var layers = classifier.Model.Architecture.FeatureLayerCount;
            throw new CliInputException($"--layer must be between 0 and {layers - 1} (the model's features: the stem, {layers - 2} stages, the head convolution); got {layer}.");
        }
    }

    // A label as part of a file name: characters a file system refuses become '_'.
    static string FileNameOf(string label) => string.Concat(label.Select(c => Path.GetInvalidFileNameChars().Contains(c) || c == '.' ? '_' : c));

    // image.gradcam.png, or image-2.gradcam.png when two inputs share a name.
    static string Unique(string folder, string stem, HashSet<string> written)
    {
        for (var n = 1; ; n++)
        {
            var file = Path.Combine(folder, n == 1 ? $"{stem}.gradcam.png" : $"{stem}-{n}.gradcam.png");
            if (written.Add(file))
                return file;
        }
    }
}
