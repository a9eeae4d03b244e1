using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli;

/// <summary>One class's precision and recall.</summary>
internal sealed record ClassReport(string Class, double Precision, double Recall);

/// <summary>What evaluate prints, and writes as JSON: ML.NET's multiclass metrics with class names.</summary>
internal sealed record EvaluationReport(
    double MicroAccuracy, double MacroAccuracy, double LogLoss, int TopK, double TopKAccuracy,
    IReadOnlyList<ClassReport> PerClass, IReadOnlyList<string> Classes, IReadOnlyList<IReadOnlyList<double>> ConfusionMatrix)
{
    public static EvaluationReport From(MulticlassClassificationMetrics metrics, IReadOnlyList<string> classes) => new(
        metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss, metrics.TopKPredictionCount, metrics.TopKAccuracy,
        classes.Select((name, i) => new ClassReport(name, metrics.ConfusionMatrix.PerClassPrecision[i], metrics.ConfusionMatrix.PerClassRecall[i])).ToList(),
        classes, metrics.ConfusionMatrix.Counts);
}
