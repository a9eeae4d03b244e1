using SkiaSharp;

namespace EfficientNet.MLNet.Datasets;

/// <summary>
/// The embedded default dataset: images drawn on the spot, so that examples, notebooks and tests need no download.
/// Four classes (circle, square, triangle, cross), each a shape of random colour, size and position on a
/// noisy background of another random colour, written as PNG and JPEG files in one folder per class.
/// </summary>
public static class SyntheticShapes
{
    /// <summary>The class names, which are also the folder names.</summary>
    public static IReadOnlyList<string> Classes { get; } = new[] { "circle", "square", "triangle", "cross" };

    /// <summary>Draws the dataset into <paramref name="folder"/> (created if needed) and lists its images.</summary>
    /// <param name="folder">Where to write <c>circle/</c>, <c>square/</c>, ... .</param>
    /// <param name="imagesPerClass">Images of each class.</param>
    /// <param name="size">Width and height of each image, in pixels.</param>
    /// <param name="seed">The same seed draws the same images.</param>
    public static IReadOnlyList<LabeledImage> Write(string folder, int imagesPerClass = 60, int size = 96, int seed = 1)
    {
        if (imagesPerClass < 1) throw new ArgumentOutOfRangeException(nameof(imagesPerClass), imagesPerClass, "At least one image per class.");
        if (size < 16) throw new ArgumentOutOfRangeException(nameof(size), size, "Images must be at least 16 pixels wide.");
        var random = new Random(seed);
        var images = new List<LabeledImage>();
        foreach (var label in Classes)
        {
            var classFolder = Path.Combine(folder, label);
            Directory.CreateDirectory(classFolder);
            for (var i = 0; i < imagesPerClass; i++)
            {
                var png = i % 2 == 0;
                var path = Path.Combine(classFolder, $"{label}-{i:D4}.{(png ? "png" : "jpg")}");
                using var bitmap = Draw(label, size, random);
                using var data = bitmap.Encode(png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 90);
                using (var file = File.Create(path))
                    data.SaveTo(file);
                images.Add(new LabeledImage(path, label));
            }
        }
        return images;
    }

    static SKBitmap Draw(string label, int size, Random random)
    {
        var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        DrawNoisyBackground(canvas, size, random);

        var extent = size * (0.25 + 0.2 * random.NextDouble()); // half the shape's width
        var centerX = (float)(extent + random.NextDouble() * (size - 2 * extent));
        var centerY = (float)(extent + random.NextDouble() * (size - 2 * extent));
        using var paint = new SKPaint { IsAntialias = true, Color = RandomColor(random, 0, 130), Style = SKPaintStyle.Fill };
        canvas.Translate(centerX, centerY);
        DrawShape(canvas, label, (float)extent, paint);
        return bitmap;
    }

    /// <summary>Draws a class's shape centred on the canvas's origin, <paramref name="r"/> its half width.</summary>
    internal static void DrawShape(SKCanvas canvas, string label, float r, SKPaint paint)
    {
        switch (label)
        {
            case "circle":
                canvas.DrawCircle(0, 0, r, paint);
                break;
            case "square":
                canvas.DrawRect(-r * 0.8f, -r * 0.8f, r * 1.6f, r * 1.6f, paint);
                break;
            case "triangle":
                using (var path = new SKPath())
                {
                    path.MoveTo(0, -r);
                    path.LineTo(r * 0.87f, r * 0.5f);
                    path.LineTo(-r * 0.87f, r * 0.5f);
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
            default:
                canvas.DrawRect(-r, -r * 0.3f, 2 * r, r * 0.6f, paint);
                canvas.DrawRect(-r * 0.3f, -r, r * 0.6f, 2 * r, paint);
                break;
        }
    }

    /// <summary>A background of one random light colour sprinkled with random dots.</summary>
    internal static void DrawNoisyBackground(SKCanvas canvas, int size, Random random)
    {
        canvas.Clear(RandomColor(random, 150, 255));
        using var noise = new SKPaint { IsAntialias = false };
        for (var n = 0; n < size * size / 8; n++)
        {
            noise.Color = RandomColor(random, 100, 255);
            canvas.DrawPoint(random.Next(size), random.Next(size), noise);
        }
    }

    internal static SKColor RandomColor(Random random, int low, int high) =>
        new((byte)random.Next(low, high), (byte)random.Next(low, high), (byte)random.Next(low, high));
}
