using System.Diagnostics;
using EfficientNet.MLNet;
using Microsoft.ML;

/// <summary>What the accuracy comparisons (modes 4 and 6) measure of one configuration: Fit's time and the test set's micro accuracy.</summary>
internal static class TestAccuracy
{
    public static (double Accuracy, double Seconds) Measure(MLContext ml, ITransformer prepare, EfficientNetTrainer.Options options, IDataView train, IDataView test)
    {
        var (accuracy, _, seconds) = Measure(ml, prepare, options, train, test, TestTimeAugmentation.None);
        return (accuracy, seconds);
    }

    /// <summary>Also the test accuracy with test-time augmentation (<paramref name="views"/>; NaN for None).</summary>
    public static (double Accuracy, double AugmentedAccuracy, double Seconds) Measure(MLContext ml, ITransformer prepare, EfficientNetTrainer.Options options,
        IDataView train, IDataView test, TestTimeAugmentation views)
    {
        var clock = Stopwatch.StartNew();
        using var model = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(prepare.Transform(train));
        var seconds = clock.Elapsed.TotalSeconds;
        var accuracy = ml.MulticlassClassification.Evaluate(model.Transform(prepare.Transform(test))).MicroAccuracy;
        if (views == TestTimeAugmentation.None)
            return (accuracy, double.NaN, seconds);
        model.TestTimeAugmentation = views;
        return (accuracy, ml.MulticlassClassification.Evaluate(model.Transform(prepare.Transform(test))).MicroAccuracy, seconds);
    }
}
