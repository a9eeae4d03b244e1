using System.Diagnostics;
using EfficientNet.MLNet;
using Microsoft.ML;

/// <summary>What the accuracy comparisons (modes 4 and 6) measure of one configuration: Fit's time and the test set's micro accuracy.</summary>
internal static class TestAccuracy
{
    public static (double Accuracy, double Seconds) Measure(MLContext ml, ITransformer prepare, EfficientNetTrainer.Options options, IDataView train, IDataView test)
    {
        var clock = Stopwatch.StartNew();
        using var model = ml.MulticlassClassification.Trainers.EfficientNet(options).Fit(prepare.Transform(train));
        var seconds = clock.Elapsed.TotalSeconds;
        return (ml.MulticlassClassification.Evaluate(model.Transform(prepare.Transform(test))).MicroAccuracy, seconds);
    }
}
