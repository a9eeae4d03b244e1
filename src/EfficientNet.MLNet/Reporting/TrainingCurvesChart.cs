using System.Globalization;
using SkiaSharp;

namespace EfficientNet.MLNet.Reporting;

/// <summary>
/// Loss and accuracy per epoch, train and validation, as a PNG: two panels with axes, values, grid and legend.
/// For notebooks (<c>display</c> the bytes) and the CLI's <c>training-curves.png</c>.
/// </summary>
public static class TrainingCurvesChart
{
    const int Width = 1100, Height = 460, PanelGap = 30;
    const float Left = 80, Right = 20, Top = 95, Bottom = 60;

    /// <summary>Draws the chart.</summary>
    /// <param name="history">The epochs, e.g. <see cref="EfficientNetTransformer.History"/>.</param>
    /// <param name="title">A title; default "Training curves".</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] Png(IReadOnlyList<EpochMetrics> history, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
            throw new ArgumentException("There is no epoch to draw.", nameof(history));
        using var bitmap = new SKBitmap(Width, Height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        var titleFont = ChartStyle.Font(22);
        ChartStyle.Text(canvas, title ?? "Training curves", Width / 2f, 32, titleFont, ChartStyle.Ink, SKTextAlign.Center);

        // One legend for both panels, under the title, where it cannot cover a curve.
        var entries = history.Any(h => h.ValidationLoss.HasValue)
            ? new[] { ("train", ChartStyle.Train), ("validation", ChartStyle.Validation) }
            : new[] { ("train", ChartStyle.Train) };
        var legendFont = ChartStyle.Font(15);
        var entryWidths = entries.Select(e => 36 + ChartStyle.Measure(e.Item1, legendFont) + 30).ToArray();
        var x = (Width - entryWidths.Sum()) / 2f;
        for (var i = 0; i < entries.Length; i++)
        {
            using var line = ChartStyle.Stroke(entries[i].Item2, 3);
            canvas.DrawLine(x, 58, x + 28, 58, line);
            ChartStyle.Text(canvas, entries[i].Item1, x + 36, 63, legendFont, ChartStyle.Ink);
            x += entryWidths[i];
        }

        var panelWidth = (Width - PanelGap) / 2f;
        var losses = history.Select(h => h.TrainLoss).Concat(history.Where(h => h.ValidationLoss.HasValue).Select(h => h.ValidationLoss!.Value));
        Panel(canvas, new SKRect(0, 0, panelWidth, Height), "loss", history, h => h.TrainLoss, h => h.ValidationLoss,
            0, Math.Max(losses.Max() * 1.05, 1e-3), v => v.ToString("0.###", CultureInfo.InvariantCulture));
        Panel(canvas, new SKRect(panelWidth + PanelGap, 0, Width, Height), "accuracy", history, h => h.TrainAccuracy, h => h.ValidationAccuracy,
            0, 1, v => v.ToString("0%", CultureInfo.InvariantCulture));
        return ChartStyle.Png(bitmap);
    }

    /// <summary>Draws the chart into a PNG file, written whole or not at all.</summary>
    public static void Save(IReadOnlyList<EpochMetrics> history, string path, string? title = null) =>
        AtomicFile.Write(path, temporary => File.WriteAllBytes(temporary, Png(history, title)));

    static void Panel(SKCanvas canvas, SKRect panel, string quantity, IReadOnlyList<EpochMetrics> history,
        Func<EpochMetrics, double> train, Func<EpochMetrics, double?> validation, double low, double high, Func<double, string> format)
    {
        var plot = new SKRect(panel.Left + Left, panel.Top + Top, panel.Right - Right, panel.Bottom - Bottom);
        var font = ChartStyle.Font(14);
        using var grid = ChartStyle.Stroke(ChartStyle.Grid, 1);
        using var axis = ChartStyle.Stroke(ChartStyle.Ink, 1.5f);

        var ticks = ChartStyle.Ticks(low, high);
        high = ticks[^1];
        float Y(double v) => plot.Bottom - (float)((v - low) / (high - low)) * plot.Height;
        var epochs = history.Count;
        float X(int epoch) => epochs == 1 ? plot.MidX : plot.Left + (epoch - 1) * plot.Width / (epochs - 1);

        foreach (var tick in ticks)
        {
            canvas.DrawLine(plot.Left, Y(tick), plot.Right, Y(tick), grid);
            ChartStyle.Text(canvas, format(tick), plot.Left - 8, Y(tick) + 5, font, ChartStyle.Ink, SKTextAlign.Right);
        }
        var every = Math.Max(1, (int)Math.Ceiling(epochs / 10.0));
        for (var e = 1; e <= epochs; e += every)
            ChartStyle.Text(canvas, e.ToString(CultureInfo.InvariantCulture), X(e), plot.Bottom + 20, font, ChartStyle.Ink, SKTextAlign.Center);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        ChartStyle.Text(canvas, "epoch", plot.MidX, plot.Bottom + 45, font, ChartStyle.Ink, SKTextAlign.Center);
        var quantityFont = ChartStyle.Font(16);
        ChartStyle.Text(canvas, quantity, plot.Left, plot.Top - 14, quantityFont, ChartStyle.Ink);

        Series(canvas, history.Select((h, i) => (X(i + 1), Y(train(h)))).ToList(), ChartStyle.Train);
        var validated = history.Select((h, i) => (Epoch: i + 1, Value: validation(h))).Where(p => p.Value.HasValue).ToList();
        Series(canvas, validated.Select(p => (X(p.Epoch), Y(p.Value!.Value))).ToList(), ChartStyle.Validation);
    }

    static void Series(SKCanvas canvas, IReadOnlyList<(float X, float Y)> points, SKColor color)
    {
        if (points.Count == 0) return;
        using var line = ChartStyle.Stroke(color, 2.5f);
        using var dot = ChartStyle.Fill(color);
        using var path = new SKPath();
        path.MoveTo(points[0].X, points[0].Y);
        foreach (var (x, y) in points.Skip(1)) path.LineTo(x, y);
        canvas.DrawPath(path, line);
        foreach (var (x, y) in points) canvas.DrawCircle(x, y, 4, dot);
    }
}
