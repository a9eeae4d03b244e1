using System.Globalization;
using SkiaSharp;

namespace EfficientNet.MLNet.Reporting;

/// <summary>
/// The confusion matrix as a PNG heat map: actual classes down, predicted classes across, the count in each cell,
/// shaded by the fraction of its row (so each class's recall reads at a glance). For notebooks and the CLI's
/// <c>confusion-matrix.png</c>.
/// </summary>
public static class ConfusionMatrixChart
{
    /// <summary>Draws the chart.</summary>
    /// <param name="classNames">Class names, in the order of the counts' rows and columns.</param>
    /// <param name="counts">counts[actual][predicted], e.g. ML.NET's <c>metrics.ConfusionMatrix.Counts</c>.</param>
    /// <param name="title">A title; default "Confusion matrix".</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] Png(IReadOnlyList<string> classNames, IReadOnlyList<IReadOnlyList<double>> counts, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(counts);
        var n = classNames.Count;
        if (n == 0 || counts.Count != n || counts.Any(row => row.Count != n))
            throw new ArgumentException($"Expected a {n} x {n} matrix of counts for {n} class names.", nameof(counts));

        var labelFont = ChartStyle.Font(14);
        var longest = classNames.Max(name => ChartStyle.Measure(name, labelFont));
        var cell = Math.Clamp(560f / n, 28, 90);
        var left = longest + 60;
        var top = 70f;
        var bottom = longest * 0.75f + 60;
        var width = (int)Math.Ceiling(left + n * cell + 40);
        var height = (int)Math.Ceiling(top + n * cell + bottom);
        using var bitmap = new SKBitmap(Math.Max(width, 360), height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        var titleFont = ChartStyle.Font(20);
        ChartStyle.Text(canvas, title ?? "Confusion matrix", bitmap.Width / 2f, 32, titleFont, ChartStyle.Ink, SKTextAlign.Center);

        var countFont = ChartStyle.Font(Math.Clamp(cell / 3.2f, 10, 18));
        for (var actual = 0; actual < n; actual++)
        {
            var rowTotal = counts[actual].Sum();
            for (var predicted = 0; predicted < n; predicted++)
            {
                var value = counts[actual][predicted];
                var share = rowTotal > 0 ? value / rowTotal : 0;
                var rect = SKRect.Create(left + predicted * cell, top + actual * cell, cell, cell);
                using var fill = ChartStyle.Fill(Blend(share));
                canvas.DrawRect(rect, fill);
                using var edge = ChartStyle.Stroke(SKColors.White, 1);
                canvas.DrawRect(rect, edge);
                ChartStyle.Text(canvas, value.ToString("0", CultureInfo.InvariantCulture), rect.MidX, rect.MidY + countFont / 3,
                    countFont, share > 0.55 ? SKColors.White : ChartStyle.Ink, SKTextAlign.Center);
            }
            ChartStyle.Text(canvas, classNames[actual], left - 10, top + (actual + 0.5f) * cell + 5, labelFont, ChartStyle.Ink, SKTextAlign.Right);
        }
        // Predicted class names under the columns, slanted so long names do not overlap.
        for (var predicted = 0; predicted < n; predicted++)
        {
            canvas.Save();
            canvas.Translate(left + (predicted + 0.5f) * cell, top + n * cell + 14);
            canvas.RotateDegrees(-40);
            ChartStyle.Text(canvas, classNames[predicted], 0, 0, labelFont, ChartStyle.Ink, SKTextAlign.Right);
            canvas.Restore();
        }
        var axisFont = ChartStyle.Font(15);
        ChartStyle.Text(canvas, "predicted", left + n * cell / 2, height - 14, axisFont, ChartStyle.Ink, SKTextAlign.Center);
        canvas.Save();
        canvas.Translate(20, top + n * cell / 2);
        canvas.RotateDegrees(-90);
        ChartStyle.Text(canvas, "actual", 0, 0, axisFont, ChartStyle.Ink, SKTextAlign.Center);
        canvas.Restore();
        return ChartStyle.Png(bitmap);
    }

    /// <summary>Draws the chart into a PNG file, written whole or not at all.</summary>
    public static void Save(IReadOnlyList<string> classNames, IReadOnlyList<IReadOnlyList<double>> counts, string path, string? title = null) =>
        AtomicFile.Write(path, temporary => File.WriteAllBytes(temporary, Png(classNames, counts, title)));

    static SKColor Blend(double share)
    {
        // White to a deep blue.
        static byte Mix(int from, int to, double t) => (byte)Math.Round(from + (to - from) * t);
        return new SKColor(Mix(247, 8, share), Mix(251, 48, share), Mix(255, 107, share));
    }
}
