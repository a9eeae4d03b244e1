using System.IO.Hashing;
using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// Continued training, <c>Fit(data, previousModel)</c>: a new run that starts from a trained model's weights, on the same
/// classes (the whole network continues) or on other classes (the backbone continues, the classifier starts fresh).
/// </summary>
internal static class ContinuedTraining
{
    /// <summary>The previous model's network, after checking that the options do not ask for another start.</summary>
    public static EfficientNetScaling Variant(EfficientNetTransformer previous, EfficientNetTrainer.Options options, TaskKind task)
    {
        if (previous.Task != task)
            throw new ArgumentException($"The previous model is a {Describe(previous.Task)} model and this trainer trains a {Describe(task)} one: continued training keeps what the outputs mean. Train a {Describe(task)} model from scratch or from pretrained weights instead.", nameof(options));
        if (options.PretrainedWeights is not null)
            throw new ArgumentException($"Fit(data, previousModel) starts from the previous model's weights, and Options.PretrainedWeights asks for '{options.PretrainedWeights}' as well. Leave PretrainedWeights unset, or call Fit(data).", nameof(options));
        // Null: the previous model's network, which is what continuing means.
        if (options.Version is { } version && EfficientNetVariants.Get(version) is var wanted && wanted.Name != previous.Scaling.Name)
            throw new ArgumentException($"The previous model is EfficientNet-{previous.Version} and Options.Version asks for {wanted.Name}: continued training keeps the previous model's network. Set Version = \"{previous.Version}\" (or leave it null), or call Fit(data) to train a {wanted.Name} from scratch.", nameof(options));
        return previous.Scaling;
    }

    /// <summary>
    /// Loads the previous model's weights into <paramref name="model"/>: all of them when the data has the same classes
    /// (in any key order: the classifier's rows follow the class names), the backbone only when the classes differ.
    /// Returns whether the classifier starts fresh.
    /// </summary>
    public static bool LoadInto(EfficientNetModel model, EfficientNetTransformer previous, IReadOnlyList<string> classNames, Action<string> log)
    {
        using var scope = NewDisposeScope();
        var oldNames = previous.ClassNames;
        var weights = previous.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().cpu(), StringComparer.Ordinal);
        if (oldNames.Order(StringComparer.Ordinal).SequenceEqual(classNames.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            var oldRows = oldNames.Select((name, row) => (name, row)).ToDictionary(p => p.name, p => (long)p.row, StringComparer.Ordinal);
            var rows = tensor(classNames.Select(name => oldRows[name]).ToArray());
            foreach (var name in weights.Keys.Where(IsClassifier).ToList())
                weights[name] = weights[name].index_select(0, rows);
            model.LoadStateDict(weights, WeightLoadMode.Strict, "the previous model");
            log($"Continuing from the previous model (EfficientNet-{previous.Version}, {oldNames.Count} classes, {previous.History.Count} epochs trained): every weight, the classifier's rows matched by class name.");
            return false;
        }
        model.LoadStateDict(weights.Where(p => !IsClassifier(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            WeightLoadMode.KeepNewClassifier, "the previous model");
        log($"Continuing from the previous model's backbone (EfficientNet-{previous.Version}); its classes ({string.Join(", ", oldNames)}) are not the data's ({string.Join(", ", classNames)}), so the classifier starts fresh.");
        return true;
    }

    /// <summary>The previous model by content (class names and weights), for the checkpoint's run fingerprint.</summary>
    public static string Fingerprint(EfficientNetTransformer previous)
    {
        using var scope = NewDisposeScope();
        var hash = new XxHash64();
        foreach (var name in previous.ClassNames)
            hash.Append(System.Text.Encoding.UTF8.GetBytes(name + "\n"));
        foreach (var (name, value) in previous.Model.state_dict())
        {
            hash.Append(System.Text.Encoding.UTF8.GetBytes(name + "\n"));
            hash.Append(value.detach().cpu().contiguous().bytes);
        }
        return $"previous model, XxHash64 {Convert.ToHexString(hash.GetCurrentHash())}";
    }

    static string Describe(TaskKind kind) => kind == TaskKind.MultiLabel ? "multi-label" : "multiclass";

    static bool IsClassifier(string name) => name.StartsWith(EfficientNetModel.ClassifierPrefix, StringComparison.Ordinal);
}
