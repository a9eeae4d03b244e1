using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// When weights from a file or the registry keep their classifier (it has as many classes as the data), its rows are in
/// the file's class order, and the data's labels are numbered in MapValueToKey's order (first appearance): row k must be
/// the data's class k. The file's class names, wherever they are known, match the rows to the data's classes by name;
/// two different sets of names are refused with both orders named; with no names known, the rows are kept in the
/// file's order and the log says so and how to give them.
/// </summary>
internal static class WeightsClassOrder
{
    /// <summary>The file written beside a checkpoint by examples/ScaleOut/train_ddp.py: one class name a line, in the classifier's order.</summary>
    public const string ClassesFile = "classes.txt";

    /// <summary>
    /// The weights' class names in their classifier's order: given; kept inside a torch.save checkpoint ("classes",
    /// "class_names" or "class_to_idx"); in a classes.txt beside the file; or the registry entry's; else null. Called
    /// after the weights were read (PyTorchStateDict.Read checks a torch.save file's checksums and sizes first).
    /// </summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="entry">Its registry entry, or null for a file of one's own.</param>
    /// <param name="given">Names the user gave (PretrainedClassNames, labels): they win.</param>
    /// <param name="classCount">The classifier's rows, when known: a kept or listed set of names of another count is passed over.</param>
    public static IReadOnlyList<string>? Find(string weightsPath, PretrainedWeights? entry, IReadOnlyList<string>? given, int? classCount = null)
    {
        if (given is not null)
            return given;
        // A source whose count is not the classifier's is passed over for the next (a stale list in a checkpoint must not
        // hide a right classes.txt).
        bool Fits(IReadOnlyList<string> names) => classCount is null || names.Count == classCount;
        if (entry is null && ModuleWeights.IsPyTorchFile(weightsPath) && PyTorchStateDict.ClassNames(weightsPath) is { } kept && Fits(kept))
            return kept;
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, ClassesFile);
        if (entry is null && File.Exists(beside) && File.ReadAllLines(beside).Select(l => l.Trim()).Where(l => l.Length > 0).ToList() is var listed && Fits(listed))
            return listed;
        return entry?.Categories;
    }

    /// <summary>
    /// Puts the kept classifier's rows in the data's class order, matched by name; returns what was done, for the log.
    /// </summary>
    /// <exception cref="ArgumentException">The weights' classes are not the data's (both orders named), or their count is not the classifier's.</exception>
    public static string Match(EfficientNetModel model, IReadOnlyList<string>? weightsClasses, IReadOnlyList<string> dataClasses, string weightsName)
    {
        if (weightsClasses is null)
            return $"The classifier of {weightsName} has {dataClasses.Count} classes, as the data; no class names came with it, so its rows are taken in its own order "
                + $"as the data's classes in label order ({string.Join(", ", dataClasses)}). If its classes are in another order, give their names "
                + $"(EfficientNetTrainer.Options.PretrainedClassNames, or a {ClassesFile} beside the file, one a line in the classifier's order) to match them by name.";
        if (weightsClasses.Count != dataClasses.Count)
            throw new ArgumentException($"The class names given for {weightsName} are {weightsClasses.Count} ({string.Join(", ", weightsClasses)}), but its classifier has {dataClasses.Count} rows: give one name per row, in the classifier's order.");
        var order = dataClasses.Select(name => IndexOf(weightsClasses, name)).ToArray();
        if (order.Contains(-1) || order.Distinct().Count() != order.Length)
            throw new ArgumentException($"The classifier of {weightsName} is for the classes {string.Join(", ", weightsClasses)} (in its order), but the data's classes are {string.Join(", ", dataClasses)} (in label order): "
                + "the same number, other names. Rename the data's folders or labels to the weights' classes, or start a fresh classifier from weights of another class count.");
        if (order.Select((from, to) => from == to).All(same => same))
            return $"The classifier of {weightsName} has the data's classes in the data's order ({string.Join(", ", dataClasses)}).";
        using (no_grad())
        using (var rows = tensor(order.Select(i => (long)i).ToArray()))
            foreach (var parameter in model.ClassifierParameters())
                parameter.copy_(parameter.index_select(0, rows.to(parameter.device)));
        return $"The classifier rows of {weightsName} were matched to the data's classes by name: its order {string.Join(", ", weightsClasses)} became the data's {string.Join(", ", dataClasses)}.";
    }

    static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
            if (names[i] == name)
                return i;
        return -1;
    }
}
