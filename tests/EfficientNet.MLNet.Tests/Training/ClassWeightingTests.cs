using EfficientNet.MLNet.Training;

namespace EfficientNet.MLNet.Tests.Training;

public class ClassWeightingTests
{
    static readonly string[] Classes = { "cat", "dog", "fox" };
    static readonly Dictionary<long, int> Counts = new() { [0] = 60, [1] = 30, [2] = 10 };

    [Fact]
    public void Balanced_weights_are_n_over_classes_times_the_class_count()
    {
        var weights = ClassWeighting.Of(new EfficientNetTrainer.Options { BalanceClasses = true }, Classes, Counts)!;

        Assert.Equal(new[] { 100f / (3 * 60), 100f / (3 * 30), 100f / (3 * 10) }, weights, new ToleranceComparer(1e-6f));
        // Each class then carries the same total weight.
        Assert.Equal(60 * weights[0], 10 * weights[2], 4);
    }

    [Fact]
    public void Given_weights_are_by_class_name_and_an_unknown_name_is_an_error_naming_the_classes()
    {
        var weights = ClassWeighting.Of(new EfficientNetTrainer.Options { ClassWeights = new Dictionary<string, double> { ["fox"] = 4 } }, Classes, Counts);
        Assert.Equal(new[] { 1f, 1f, 4f }, weights);
        Assert.Null(ClassWeighting.Of(new EfficientNetTrainer.Options(), Classes, Counts));

        var error = Assert.Throws<ArgumentException>(() =>
            ClassWeighting.Of(new EfficientNetTrainer.Options { ClassWeights = new Dictionary<string, double> { ["wolf"] = 2 } }, Classes, Counts));
        Assert.Contains("'wolf'", error.Message);
        Assert.Contains("cat, dog, fox", error.Message);
    }
}
