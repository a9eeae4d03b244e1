// The seed's own check, in .NET: build EfficientNet-B0 for 10 classes, run 4 random images at 224x224
// through it, print the output shape and the summary. (The ML.NET trainer will turn this into a
// train / evaluate / save / reload / predict walk-through.)
using EfficientNet.MLNet.Network;
using static TorchSharp.torch;

const int classes = 10, images = 4;
var version = args.Length > 0 ? args[0] : "b0";

manual_seed(0);
using var model = EfficientNetModel.Create(version, numClasses: classes);
model.eval();
Console.WriteLine($"EfficientNet-{version.ToUpperInvariant()}: width x{model.Scaling.WidthMultiplier}, depth x{model.Scaling.DepthMultiplier}, " +
                  $"resolution {model.Resolution}, dropout {model.DropoutRate}, {model.Architecture.BlockCount} MBConv blocks");

using (var scope = NewDisposeScope())
using (no_grad())
{
    var batch = randn(images, 3, model.Resolution, model.Resolution);
    var logits = model.call(batch);
    var probabilities = logits.softmax(1);
    Console.WriteLine($"input  [{string.Join(", ", batch.shape)}]");
    Console.WriteLine($"output [{string.Join(", ", logits.shape)}]  (rows of probabilities sum to {probabilities.sum(1).mean().item<float>():0.000})");
}

Console.WriteLine();
Console.Write(ModelSummary.Of(model).ToText());
