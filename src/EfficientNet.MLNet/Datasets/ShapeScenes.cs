using System.Globalization;
using SkiaSharp;

namespace EfficientNet.MLNet.Datasets;

/// <summary>
/// The embedded default multi-label dataset: scenes drawn on the spot, each showing one to three different shapes
/// (circle, square, triangle, cross; random colour and size) in the cells of a 2 x 2 grid on a noisy background, labelled
/// with the shapes it shows ("circle;cross"). Written as PNG files, with <c>labels.csv</c> (columns ImagePath and Labels)
/// beside them, as multi-label data usually comes.
/// </summary>
public static class ShapeScenes
{
    /// <summary>The label names.</summary>
    public static IReadOnlyList<string> Labels => SyntheticShapes.Classes;

    /// <summary>The separator of a scene's labels.</summary>
    public const char Separator = ';';

    /// <summary>Draws <paramref name="count"/> scenes into <paramref name="folder"/> (created if needed) and lists them, each with its labels as text.</summary>
    /// <param name="folder">Where the PNG files and labels.csv go.</param>
    /// <param name="count">How many scenes.</param>
    /// <param name="size">Width and height of each scene, in pixels (a cell is half of it).</param>
    /// <param name="seed">The same seed draws the same scenes.</param>
    public static IReadOnlyList<LabeledImage> Write(string folder, int count = 400, int size = 64, int seed = 1)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one scene.");
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), size, "Scenes must be at least 32 pixels wide.");
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var scenes = new List<LabeledImage>(count);
        var cell = size / 2;
        for (var n = 0; n < count; n++)
        {
            var shapes = Labels.OrderBy(_ => random.Next()).Take(1 + random.Next(3)).ToList();
            var cells = Enumerable.Range(0, 4).OrderBy(_ => random.Next()).ToArray();
            using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
            using (var canvas = new SKCanvas(bitmap))
            {
                SyntheticShapes.DrawNoisyBackground(canvas, size, random);
                for (var k = 0; k < shapes.Count; k++)
                {
                    using var paint = new SKPaint { IsAntialias = true, Color = SyntheticShapes.RandomColor(random, 0, 130), Style = SKPaintStyle.Fill };
                    canvas.Save();
                    canvas.Translate(cells[k] % 2 * cell + cell / 2f, cells[k] / 2 * cell + cell / 2f);
                    SyntheticShapes.DrawShape(canvas, shapes[k], (float)(cell * (0.3 + 0.15 * random.NextDouble())), paint);
                    canvas.Restore();
                }
            }
            var path = Path.Combine(folder, $"scene-{n:D4}.png");
            using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100))
            using (var file = File.Create(path))
                data.SaveTo(file);
            scenes.Add(new LabeledImage(path, string.Join(Separator, shapes.Order(StringComparer.Ordinal))));
        }
        File.WriteAllLines(Path.Combine(folder, "labels.csv"), new[] { "ImagePath,Labels" }
            .Concat(scenes.Select(s => string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(s.ImagePath)},{s.Label}"))));
        return scenes;
    }
}
