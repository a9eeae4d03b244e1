using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Network;

/// <summary>
/// A layer-by-layer account of a network at one input size, like the seed's torchsummary: each leaf layer in
/// execution order with its output shape and parameters, then total and trainable parameters, multiply-adds,
/// and an estimate of memory. Measured by running one image through the network with forward hooks.
/// </summary>
public sealed class ModelSummary
{
    const int BytesPerFloat = 4;
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private ModelSummary(string name, long[] inputShape, IReadOnlyList<LayerSummary> layers, long totalParameters, long trainableParameters)
    {
        Name = name;
        InputShape = inputShape;
        Layers = layers;
        TotalParameters = totalParameters;
        TrainableParameters = trainableParameters;
    }

    /// <summary>The network's name, e.g. "efficientnet_b0 (10 classes)".</summary>
    public string Name { get; }

    /// <summary>The input shape summarized, batch of one: (1, 3, H, W).</summary>
    public long[] InputShape { get; }

    /// <summary>Leaf layers in the order they ran.</summary>
    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>All parameters.</summary>
    public long TotalParameters { get; }

    /// <summary>Parameters that require gradients.</summary>
    public long TrainableParameters { get; }

    /// <summary>Multiply-adds of all convolutions and linear layers for one image.</summary>
    public long MultiplyAdds => Layers.Sum(layer => layer.MultiplyAdds);

    /// <summary>Bytes of all layer outputs for one image in a forward pass (float32).</summary>
    public long ActivationBytes => Layers.Sum(layer => layer.OutputShape.Aggregate(1L, (a, b) => a * b)) * BytesPerFloat;

    /// <summary>Bytes of the parameters (float32).</summary>
    public long ParameterBytes => TotalParameters * BytesPerFloat;

    /// <summary>Summarizes an EfficientNet at a resolution (default: the variant's).</summary>
    public static ModelSummary Of(EfficientNetModel model, int? resolution = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var size = resolution ?? model.Resolution;
        return Of(model, $"efficientnet_{model.Scaling.Name} ({model.NumClasses} classes)", 3, size, size);
    }

    /// <summary>Summarizes any image network taking (N, C, H, W).</summary>
    public static ModelSummary Of(nn.Module<Tensor, Tensor> model, string name, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Alone on a model the library may be scoring on other threads: hooks and mode changes would reach them.
        using var exclusive = (model as EfficientNetModel)?.Exclusive();
        var names = new Dictionary<nn.Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in model.named_modules())
            names[module] = path;
        var layers = new List<LayerSummary>();
        var removeHooks = new List<Action>();
        foreach (var (_, module) in model.named_modules())
        {
            if (module.children().Any() || module is not nn.Module<Tensor, Tensor> leaf)
                continue;
            var remover = leaf.register_forward_hook((m, input, output) =>
            {
                layers.Add(Describe(names[m], m, output));
                return output;
            });
            removeHooks.Add(() => remover.remove());
        }

        var modes = ModuleModes.Of(model);
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var parameter = model.parameters().FirstOrDefault();
            model.call(zeros(new long[] { 1, channels, height, width }, parameter?.dtype ?? ScalarType.Float32, parameter?.device ?? CPU));
        }
        finally
        {
            foreach (var removeHook in removeHooks) removeHook();
            modes.Restore();
        }
        return new ModelSummary(name, new long[] { 1, channels, height, width }, layers,
            model.parameters().Sum(p => p.numel()),
            model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
    }

    static LayerSummary Describe(string name, nn.Module module, Tensor output)
    {
        var parameters = module.parameters(recurse: false).Sum(p => p.numel());
        // Each output element of a convolution costs (in / groups) * kh * kw multiply-adds; of a linear layer, in.
        long multiplyAdds = module switch
        {
            Conv2d conv => output.numel() * conv.weight!.shape.Skip(1).Aggregate(1L, (a, b) => a * b),
            Linear linear => output.numel() * linear.weight!.shape[1],
            _ => 0,
        };
        return new LayerSummary(name, module.GetType().Name, output.shape, parameters, multiplyAdds);
    }

    /// <summary>The summary as a table, like torchsummary's.</summary>
    public string ToText()
    {
        const int nameWidth = 44, shapeWidth = 22, numberWidth = 14;
        var rule = new string('-', nameWidth + shapeWidth + 2 * numberWidth);
        var text = new StringBuilder();
        text.AppendLine(Name).AppendLine(rule);
        text.Append("Layer (type)".PadRight(nameWidth)).Append("Output Shape".PadRight(shapeWidth))
            .Append("Param #".PadLeft(numberWidth)).AppendLine("Mult-Adds".PadLeft(numberWidth));
        text.AppendLine(new string('=', rule.Length));
        foreach (var layer in Layers)
        {
            text.Append($"{layer.Name} ({layer.Type}) ".PadRight(nameWidth))
                .Append(("[" + string.Join(", ", layer.OutputShape) + "] ").PadRight(shapeWidth))
                .Append(Number(layer.Parameters).PadLeft(numberWidth))
                .AppendLine(Number(layer.MultiplyAdds).PadLeft(numberWidth));
        }
        text.AppendLine(new string('=', rule.Length));
        text.AppendLine($"Total params: {Number(TotalParameters)}");
        text.AppendLine($"Trainable params: {Number(TrainableParameters)}");
        text.AppendLine($"Non-trainable params: {Number(TotalParameters - TrainableParameters)}");
        text.AppendLine($"Multiply-adds (G): {(MultiplyAdds / 1e9).ToString("0.000", Invariant)}");
        text.AppendLine(rule);
        var input = InputShape.Aggregate(1L, (a, b) => a * b) * BytesPerFloat;
        // Training keeps every output for the backward pass and a gradient of the same size: twice the activations.
        text.AppendLine($"Input size (MB): {Megabytes(input)}");
        text.AppendLine($"Forward/backward pass size (MB): {Megabytes(2 * ActivationBytes)}");
        text.AppendLine($"Params size (MB): {Megabytes(ParameterBytes)}");
        text.AppendLine($"Estimated total size (MB): {Megabytes(input + 2 * ActivationBytes + ParameterBytes)}");
        text.AppendLine(rule);
        return text.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToText();

    static string Number(long value) => value.ToString("#,0", Invariant);
    static string Megabytes(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.00", Invariant);
}
