using System.Globalization;
using EfficientNet.MLNet.MultiLabel;
using SkiaSharp;

namespace EfficientNet.MLNet.Reporting;

/// <summary>
/// A multi-label model's figures per label as a PNG bar chart: one row per label with its average precision and its F1
/// at the model's threshold side by side (0 to 1), and its support (rows that have it) and threshold written beside, so
/// the weak and the rare labels read at a glance. For notebooks and the CLI's <c>per-label.png</c>.
/// </summary>
public static class PerLabelChart
{
    /// <summary>Draws the chart.</summary>
    /// <param name="metrics">EvaluateMultiLabel's result.</param>
    /// <param name="title">A title; default "Per label".</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] Png(MultiLabelClassificationMetrics metrics, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var labels = metrics.PerLabel;
        if (labels.Count == 0)
            throw new ArgumentException("The metrics have no labels.", nameof(metrics));
        var labelFont = ChartStyle.Font(14);
        var left = labels.Max(l => ChartStyle.Measure(l.Label, labelFont)) + 30;
        const float barWidth = 420, row = 30, top = 80, right = 230;
        var width = (int)Math.Ceiling(left + barWidth + right);
        var height = (int)Math.Ceiling(top + labels.Count * row + 50);
        using var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        ChartStyle.Text(canvas, title ?? "Per label", width / 2f, 30, ChartStyle.Font(20), ChartStyle.Ink, SKTextAlign.Center);
        var small = ChartStyle.Font(12);
        ChartStyle.Text(canvas, string.Create(CultureInfo.InvariantCulture,
            $"mAP {metrics.MeanAveragePrecision:0.000}, micro F1 {metrics.MicroF1:0.000}, macro F1 {metrics.MacroF1:0.000}"), width / 2f, 52, small, ChartStyle.Ink, SKTextAlign.Center);
        foreach (var tick in ChartStyle.Ticks(0, 1))
        {
            var x = left + (float)tick * barWidth;
            using var grid = ChartStyle.Stroke(ChartStyle.Grid, 1);
            canvas.DrawLine(x, top - 6, x, top + labels.Count * row, grid);
            ChartStyle.Text(canvas, tick.ToString("0.0", CultureInfo.InvariantCulture), x, top + labels.Count * row + 16, small, ChartStyle.Ink, SKTextAlign.Center);
        }
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            var y = top + i * row;
            ChartStyle.Text(canvas, label.Label, left - 10, y + row / 2 + 5, labelFont, ChartStyle.Ink, SKTextAlign.Right);
            Bar(canvas, left, y + 4, barWidth, double.IsNaN(label.AveragePrecision) ? 0 : label.AveragePrecision, ChartStyle.Train);
            Bar(canvas, left, y + row / 2, barWidth, label.F1, ChartStyle.Validation);
            var note = double.IsNaN(label.AveragePrecision)
                ? string.Create(CultureInfo.InvariantCulture, $"no rows have it; t {label.Threshold:0.00}")
                : string.Create(CultureInfo.InvariantCulture, $"AP {label.AveragePrecision:0.00} F1 {label.F1:0.00} n {label.Support} t {label.Threshold:0.00}");
            ChartStyle.Text(canvas, note, left + barWidth + 10, y + row / 2 + 5, small, ChartStyle.Ink);
        }
        using (var ap = ChartStyle.Fill(ChartStyle.Train))
            canvas.DrawRect(SKRect.Create(left, height - 22, 12, 12), ap);
        ChartStyle.Text(canvas, "average precision", left + 18, height - 12, small, ChartStyle.Ink);
        using (var f1 = ChartStyle.Fill(ChartStyle.Validation))
            canvas.DrawRect(SKRect.Create(left + 150, height - 22, 12, 12), f1);
        ChartStyle.Text(canvas, "F1 at the threshold", left + 168, height - 12, small, ChartStyle.Ink);
        return ChartStyle.Png(bitmap);
    }

    /// <summary>Draws the chart into a PNG file, written whole or not at all.</summary>
    public static void Save(MultiLabelClassificationMetrics metrics, string path, string? title = null) =>
        AtomicFile.Write(path, temporary => File.WriteAllBytes(temporary, Png(metrics, title)));

    static void Bar(SKCanvas canvas, float left, float top, float width, double value, SKColor color)
    {
        using var fill = ChartStyle.Fill(color);
        canvas.DrawRect(SKRect.Create(left, top, (float)Math.Clamp(value, 0, 1) * width, 11), fill);
    }
}
