using System.CommandLine;
using System.Text.Json;
using EfficientNet.MLNet.Network;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary><c>efficientnet summary b0 [--classes N] [--resolution R] [--json]</c>: the layer table and the totals.</summary>
internal static class SummaryCommand
{
    public static Command Create(TextWriter output)
    {
        var version = new Argument<string>("version") { Description = "b0 to b7, v2_s, v2_m or v2_l; tf_b0 .. tf_v2_l for TensorFlow-ported weights" };
        var classes = new Option<int>("--classes") { Description = "Classifier outputs", DefaultValueFactory = _ => 1000 };
        var resolution = new Option<int?>("--resolution") { Description = "Input size in pixels (default: the variant's)" };
        var json = new Option<bool>("--json") { Description = "Print the totals as JSON" };
        var command = new Command("summary", "Show a variant's layers, parameters and multiply-adds") { version, classes, resolution, json };
        command.SetAction(parse =>
        {
            var scaling = EfficientNetVariants.Get(parse.GetValue(version)!);
            var classCount = parse.GetValue(classes);
            if (classCount < 1) throw new CliInputException($"--classes must be at least 1; got {classCount}.");
            using var model = new EfficientNetModel(scaling, classCount);
            var summary = ModelSummary.Of(model, parse.GetValue(resolution));
            if (parse.GetValue(json))
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    version = scaling.Name,
                    classes = classCount,
                    resolution = summary.InputShape[2],
                    parameters = summary.TotalParameters,
                    trainableParameters = summary.TrainableParameters,
                    multiplyAdds = summary.MultiplyAdds,
                    activationBytes = summary.ActivationBytes,
                    layers = summary.Layers.Count,
                }, new JsonSerializerOptions { WriteIndented = true }));
            else
                output.Write(summary.ToText());
            return 0;
        });
        return command;
    }
}
