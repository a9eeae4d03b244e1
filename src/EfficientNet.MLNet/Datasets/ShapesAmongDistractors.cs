using SkiaSharp;

namespace EfficientNet.MLNet.Datasets;

/// <summary>One image of <see cref="ShapesAmongDistractors"/>: its file, its class, and the quadrant its shape is in.</summary>
/// <param name="ImagePath">The PNG file.</param>
/// <param name="Label">The class: circle, square, triangle or cross.</param>
/// <param name="Quadrant">Where the class's shape is: 0 top left, 1 top right, 2 bottom left, 3 bottom right.</param>
public sealed record PlacedShape(string ImagePath, string Label, int Quadrant)
{
    /// <summary>The quadrant as fractions of the image: left, top, right, bottom.</summary>
    public (double Left, double Top, double Right, double Bottom) Bounds =>
        (Quadrant % 2 * 0.5, Quadrant / 2 * 0.5, Quadrant % 2 * 0.5 + 0.5, Quadrant / 2 * 0.5 + 0.5);
}

/// <summary>
/// Images whose evidence sits in a known place, for checking explanations: <see cref="SyntheticShapes"/>' four classes,
/// the class's shape filling part of one random quadrant, and in each of the three others a distractor that belongs
/// to no class (dark strokes and an ellipse outline of the shapes' colours), on the same noisy background. Only the
/// shape tells the class, so a model that classifies well has to look at it.
/// </summary>
public static class ShapesAmongDistractors
{
    /// <summary>Draws the images as PNG files into one folder per class under <paramref name="folder"/>.</summary>
    /// <param name="folder">Where to write <c>circle/</c>, <c>square/</c>, ... .</param>
    /// <param name="imagesPerClass">Images of each class.</param>
    /// <param name="size">Width and height, in pixels (at least 32).</param>
    /// <param name="seed">The same seed draws the same images.</param>
    public static IReadOnlyList<PlacedShape> Write(string folder, int imagesPerClass = 60, int size = 128, int seed = 1)
    {
        if (imagesPerClass < 1) throw new ArgumentOutOfRangeException(nameof(imagesPerClass), imagesPerClass, "At least one image per class.");
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), size, "Images must be at least 32 pixels wide.");
        var random = new Random(seed);
        var images = new List<PlacedShape>();
        foreach (var label in SyntheticShapes.Classes)
        {
            var classFolder = Path.Combine(folder, label);
            Directory.CreateDirectory(classFolder);
            for (var i = 0; i < imagesPerClass; i++)
            {
                var quadrant = random.Next(4);
                var path = Path.Combine(classFolder, $"{label}-{i:D4}.png");
                using (var bitmap = Draw(label, quadrant, size, random))
                using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100))
                using (var file = File.Create(path))
                    data.SaveTo(file);
                images.Add(new PlacedShape(path, label, quadrant));
            }
        }
        return images;
    }

    static SKBitmap Draw(string label, int quadrant, int size, Random random)
    {
        var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        SyntheticShapes.DrawNoisyBackground(canvas, size, random);
        var half = size / 2f;
        for (var q = 0; q < 4; q++)
        {
            var (left, top) = (q % 2 * half, q / 2 * half);
            using var paint = new SKPaint { IsAntialias = true, Color = SyntheticShapes.RandomColor(random, 0, 130) };
            canvas.Save();
            if (q == quadrant)
            {
                var r = half * (float)(0.32 + 0.12 * random.NextDouble());
                canvas.Translate(left + r + (float)random.NextDouble() * (half - 2 * r), top + r + (float)random.NextDouble() * (half - 2 * r));
                paint.Style = SKPaintStyle.Fill;
                SyntheticShapes.DrawShape(canvas, label, r, paint);
            }
            else
            {
                DrawDistractor(canvas, left, top, half, paint, random);
            }
            canvas.Restore();
        }
        return bitmap;
    }

    // Strokes and an ellipse outline inside the quadrant: as dark as a shape, but the same for every class.
    static void DrawDistractor(SKCanvas canvas, float left, float top, float side, SKPaint paint, Random random)
    {
        float Inside(float origin) => origin + side * (0.1f + 0.8f * (float)random.NextDouble());
        paint.Style = SKPaintStyle.Stroke;
        paint.StrokeWidth = Math.Max(1.5f, side / 22);
        using (var path = new SKPath())
        {
            path.MoveTo(Inside(left), Inside(top));
            for (var n = 0; n < 3; n++)
                path.LineTo(Inside(left), Inside(top));
            canvas.DrawPath(path, paint);
        }
        var (cx, cy) = (Inside(left), Inside(top));
        canvas.DrawOval(cx, cy, side * (0.08f + 0.1f * (float)random.NextDouble()), side * (0.04f + 0.06f * (float)random.NextDouble()), paint);
    }
}
