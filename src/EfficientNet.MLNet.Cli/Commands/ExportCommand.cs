using System.CommandLine;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet export --model model.zip [--onnx model.onnx [--fp16]] [--safetensors weights.safetensors]</c>: the trained
/// network for other runtimes. ONNX: with the class names beside it (model.labels.txt, one per line). safetensors: the
/// state_dict in torchvision's names, for torchvision's efficientnet_bN(num_classes=...).
/// </summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output)
    {
        var model = new Option<string>("--model") { Description = "A model zip written by train", Required = true };
        var onnx = new Option<string?>("--onnx") { Description = "Write an ONNX model here (opset 17, dynamic batch), and the class names beside it" };
        var half = new Option<bool>("--fp16") { Description = "Store the ONNX model's weights as float16 (half the file; input, outputs and arithmetic stay float32)" };
        var safetensors = new Option<string?>("--safetensors") { Description = "Write the weights here in torchvision's names" };
        var command = new Command("export", "Export a trained model to ONNX or to torchvision-compatible safetensors") { model, onnx, half, safetensors };
        command.SetAction(parse =>
        {
            var (onnxPath, weightsPath) = (parse.GetValue(onnx), parse.GetValue(safetensors));
            if (onnxPath is null && weightsPath is null)
                throw new CliInputException("Say what to write: --onnx model.onnx, --safetensors weights.safetensors, or both.");
            if (parse.GetValue(half) && onnxPath is null)
                throw new CliInputException("--fp16 applies to the ONNX model: add --onnx model.onnx.");
            var loaded = ModelFile.Load(new MLContext(), parse.GetValue(model)!);
            var classifier = Find(loaded.Model)
                ?? throw new CliInputException($"'{parse.GetValue(model)}' holds no EfficientNet classifier.");
            if (onnxPath is not null)
            {
                classifier.ExportOnnx(onnxPath, parse.GetValue(half) ? OnnxWeightPrecision.Float16 : OnnxWeightPrecision.Float32);
                var labels = Path.ChangeExtension(onnxPath, ".labels.txt");
                AtomicFile.Write(labels, file => File.WriteAllLines(file, classifier.ClassNames));
                output.WriteLine($"Wrote {onnxPath} (input 'image': float32 [N, 3, {classifier.ImageSize}, {classifier.ImageSize}], RGB 0..255; output 'probabilities'"
                    + (parse.GetValue(half) ? "; weights stored as float16" : "") + $") and {labels}");
            }
            if (weightsPath is not null)
            {
                classifier.Model.SaveSafetensors(weightsPath, new Dictionary<string, string> { ["version"] = classifier.Version, ["classes"] = string.Join("\n", classifier.ClassNames) });
                output.WriteLine($"Wrote {weightsPath}: load it with torchvision.models.efficientnet_{classifier.Version}(num_classes={classifier.ClassNames.Count}).load_state_dict(safetensors.torch.load_file(...))");
            }
            return 0;
        });
        return command;
    }

    static EfficientNetTransformer? Find(ITransformer model) => model switch
    {
        EfficientNetTransformer classifier => classifier,
        IEnumerable<ITransformer> chain => chain.Select(Find).FirstOrDefault(c => c is not null),
        _ => null,
    };
}
