using SkiaSharp;

namespace EfficientNet.MLNet.Reporting;

/// <summary>What the charts share: fonts, colours, tick spacing and PNG encoding (SkiaSharp 2.88 only).</summary>
internal static class ChartStyle
{
    public static readonly SKColor Train = new(31, 119, 180);
    public static readonly SKColor Validation = new(255, 127, 14);
    public static readonly SKColor Ink = new(40, 40, 40);
    public static readonly SKColor Grid = new(225, 225, 225);

    /// <summary>DejaVu Sans where installed (Debian's fonts-dejavu-core), else the system default.</summary>
    public static SKTypeface Typeface { get; } =
        SKTypeface.FromFamilyName("DejaVu Sans") is { FamilyName: "DejaVu Sans" } dejaVu ? dejaVu : SKTypeface.Default;

    /// <summary>A text size (SkiaSharp 2.88 draws and measures text through SKPaint).</summary>
    public static float Font(float size) => size;

    public static float Measure(string text, float size)
    {
        using var paint = new SKPaint { Typeface = Typeface, TextSize = size, IsAntialias = true };
        return paint.MeasureText(text);
    }

    public static SKPaint Fill(SKColor color) => new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };

    public static SKPaint Stroke(SKColor color, float width) => new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = width };

    public static void Text(SKCanvas canvas, string text, float x, float y, float size, SKColor color, SKTextAlign align = SKTextAlign.Left)
    {
        using var paint = new SKPaint { Typeface = Typeface, TextSize = size, TextAlign = align, Color = color, IsAntialias = true };
        canvas.DrawText(text, x, y, paint);
    }

    /// <summary>About <paramref name="count"/> round tick values from at or below low to at or above high.</summary>
    public static double[] Ticks(double low, double high, int count = 5)
    {
        if (!(high > low)) high = low + 1;
        var raw = (high - low) / count;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        var first = Math.Floor(low / step) * step;
        // Up to the first round value at or above high, so the top of the axis carries a label.
        var ticks = new List<double>();
        for (var v = first; ; v += step)
        {
            ticks.Add(Math.Round(v, 10));
            if (v >= high - step * 1e-9) break;
        }
        return ticks.ToArray();
    }

    public static byte[] Png(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
