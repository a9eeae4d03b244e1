namespace EfficientNet.MLNet.Training;

/// <summary>The loss weight of each class, from the options and the training data's class counts.</summary>
internal static class ClassWeighting
{
    /// <summary>
    /// Null when every class weighs 1. Balanced: n / (classes x n_class), scikit-learn's "balanced" (a class without
    /// training rows weighs 1). Given: by class name, 1 for the classes not named; a name that is no class is an error.
    /// </summary>
    public static float[]? Of(EfficientNetTrainer.Options options, IReadOnlyList<string> classNames, IReadOnlyDictionary<long, int> classCounts)
    {
        if (options.BalanceClasses)
        {
            var total = classCounts.Values.Sum();
            return Enumerable.Range(0, classNames.Count)
                .Select(c => classCounts.TryGetValue(c, out var count) && count > 0 ? (float)(total / ((double)classNames.Count * count)) : 1f).ToArray();
        }
        if (options.ClassWeights is not { } given)
            return null;
        var unknown = given.Keys.Where(name => !classNames.Contains(name)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"EfficientNetTrainer.Options.ClassWeights names {string.Join(", ", unknown.Select(n => $"'{n}'"))}, which the label column does not have (its classes: {string.Join(", ", classNames)}). Use the label values as MapValueToKey sees them.", nameof(options.ClassWeights));
        return classNames.Select(name => (float)given.GetValueOrDefault(name, 1.0)).ToArray();
    }
}
