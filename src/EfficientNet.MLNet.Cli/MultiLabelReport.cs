using System.Globalization;
using EfficientNet.MLNet.MultiLabel;

namespace EfficientNet.MLNet.Cli;

/// <summary>What evaluate prints for a multi-label model, and writes as JSON: the overall figures and every label's.</summary>
internal sealed record MultiLabelReport(
    string Task, double MeanAveragePrecision, double MicroF1, double MacroF1, double MicroPrecision, double MicroRecall,
    double MacroPrecision, double MacroRecall, double HammingLoss, double SubsetAccuracy, IReadOnlyList<LabelMetrics> PerLabel)
{
    public static MultiLabelReport From(MultiLabelClassificationMetrics m) => new("multilabel", m.MeanAveragePrecision, m.MicroF1, m.MacroF1,
        m.MicroPrecision, m.MicroRecall, m.MacroPrecision, m.MacroRecall, m.HammingLoss, m.SubsetAccuracy, m.PerLabel);

    public static string Summary(MultiLabelClassificationMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"mAP {m.MeanAveragePrecision:0.000}, micro F1 {m.MicroF1:0.000} (precision {m.MicroPrecision:0.000}, recall {m.MicroRecall:0.000}), macro F1 {m.MacroF1:0.000}, Hamming loss {m.HammingLoss:0.000}, subset accuracy {m.SubsetAccuracy:P1}");

    /// <summary>One line per label: AP, precision, recall, F1, support and threshold, with a bar of its F1.</summary>
    public static IEnumerable<string> Table(MultiLabelClassificationMetrics m)
    {
        var width = Math.Max(5, m.PerLabel.Max(l => l.Label.Length));
        yield return string.Create(CultureInfo.InvariantCulture, $"  {"label".PadRight(width)}     AP  precision  recall     F1  support  threshold");
        foreach (var l in m.PerLabel)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"  {l.Label.PadRight(width)}  {(double.IsNaN(l.AveragePrecision) ? "   -" : l.AveragePrecision.ToString("0.000", CultureInfo.InvariantCulture))}  {l.Precision,9:0.000}  {l.Recall,6:0.000}  {l.F1,5:0.000}  {l.Support,7}  {l.Threshold,9:0.###}  {new string('#', (int)Math.Round(l.F1 * 20))}");
    }
}
