using EfficientNet.MLNet.Datasets;
using SkiaSharp;

/// <summary>
/// Generated data harder than the embedded four shapes: ten classes (some alike: circle and ring, square and diamond,
/// hexagon and circle at small sizes), a shape of random scale (a quarter to two thirds of the image), position,
/// rotation (within 20 degrees) and colours, among distractor lines and blobs, with pixel noise. The training split is
/// imbalanced (the first class has three times the images of the last); the test split is balanced.
/// </summary>
internal static class ClutteredShapes
{
    public static readonly string[] Classes = { "circle", "ring", "square", "diamond", "triangle", "hexagon", "star", "cross", "crescent", "bar" };

    public static RecipeDataset Write(string folder, int size, int trainPerClass, int testPerClass, int seed)
    {
        var random = new Random(seed);
        var train = new List<LabeledImage>();
        var test = new List<LabeledImage>();
        for (var k = 0; k < Classes.Length; k++)
        {
            // 1.5 x the mean for the first class down to 0.5 x for the last: the mean stays trainPerClass.
            var trainCount = (int)Math.Round(trainPerClass * (1.5 - (double)k / (Classes.Length - 1)));
            foreach (var (split, count, list) in new[] { ("train", trainCount, train), ("test", testPerClass, test) })
                for (var i = 0; i < count; i++)
                {
                    var path = Path.Combine(folder, split, Classes[k], $"{i:D4}.png");
                    using var bitmap = Draw(Classes[k], size, random);
                    RecipeDataset.SavePng(bitmap, path);
                    list.Add(new LabeledImage(path, Classes[k]));
                }
        }
        return new RecipeDataset("cluttered shapes", train, test);
    }

    static SKBitmap Draw(string shape, int size, Random random)
    {
        var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        var background = Colour(random, 120, 256);
        canvas.Clear(background);
        using var paint = new SKPaint { IsAntialias = true };
        // Distractors: lines and small blobs of any colour, behind the shape.
        for (var n = random.Next(3, 7); n > 0; n--)
        {
            paint.Color = Colour(random, 0, 256);
            paint.StrokeWidth = 1 + random.Next(2);
            paint.Style = SKPaintStyle.Stroke;
            if (random.Next(2) == 0)
                canvas.DrawLine(Coordinate(random, size), Coordinate(random, size), Coordinate(random, size), Coordinate(random, size), paint);
            else
            {
                paint.Style = SKPaintStyle.Fill;
                canvas.DrawCircle(Coordinate(random, size), Coordinate(random, size), (float)(size * (0.02 + 0.04 * random.NextDouble())), paint);
            }
        }

        var extent = (float)(size * (0.12 + 0.2 * random.NextDouble()));
        canvas.Save();
        canvas.Translate((float)(extent + random.NextDouble() * (size - 2 * extent)), (float)(extent + random.NextDouble() * (size - 2 * extent)));
        canvas.RotateDegrees((float)(random.NextDouble() * 40 - 20));
        paint.Color = Colour(random, 0, 110);
        paint.Style = SKPaintStyle.Fill;
        DrawShape(canvas, shape, extent, paint, background);
        canvas.Restore();

        using var noise = new SKPaint();
        for (var n = 0; n < size * size / 6; n++)
        {
            noise.Color = Colour(random, 0, 256);
            canvas.DrawPoint(random.Next(size), random.Next(size), noise);
        }
        return bitmap;
    }

    static void DrawShape(SKCanvas canvas, string shape, float r, SKPaint paint, SKColor background)
    {
        switch (shape)
        {
            case "circle": canvas.DrawCircle(0, 0, r, paint); break;
            case "ring":
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = r * 0.35f;
                canvas.DrawCircle(0, 0, r * 0.82f, paint);
                break;
            case "square": canvas.DrawRect(-r * 0.8f, -r * 0.8f, r * 1.6f, r * 1.6f, paint); break;
            case "diamond": Polygon(canvas, paint, r, 4, 0); break;
            case "triangle": Polygon(canvas, paint, r, 3, -Math.PI / 2); break;
            case "hexagon": Polygon(canvas, paint, r, 6, 0); break;
            case "star":
                using (var path = new SKPath())
                {
                    for (var i = 0; i < 10; i++)
                    {
                        var radius = i % 2 == 0 ? r : r * 0.42f;
                        var angle = -Math.PI / 2 + i * Math.PI / 5;
                        var point = new SKPoint((float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle)));
                        if (i == 0) path.MoveTo(point); else path.LineTo(point);
                    }
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
            case "cross":
                canvas.DrawRect(-r, -r * 0.3f, 2 * r, r * 0.6f, paint);
                canvas.DrawRect(-r * 0.3f, -r, r * 0.6f, 2 * r, paint);
                break;
            case "crescent":
                canvas.DrawCircle(0, 0, r, paint);
                using (var cut = new SKPaint { IsAntialias = true, Color = background })
                    canvas.DrawCircle(r * 0.45f, -r * 0.2f, r * 0.8f, cut);
                break;
            default: canvas.DrawRect(-r, -r * 0.25f, 2 * r, r * 0.5f, paint); break;
        }
    }

    static void Polygon(SKCanvas canvas, SKPaint paint, float r, int corners, double start)
    {
        using var path = new SKPath();
        for (var i = 0; i < corners; i++)
        {
            var angle = start + i * 2 * Math.PI / corners;
            var point = new SKPoint((float)(r * Math.Cos(angle)), (float)(r * Math.Sin(angle)));
            if (i == 0) path.MoveTo(point); else path.LineTo(point);
        }
        path.Close();
        canvas.DrawPath(path, paint);
    }

    static float Coordinate(Random random, int size) => (float)(random.NextDouble() * size);

    static SKColor Colour(Random random, int low, int high) =>
        new((byte)random.Next(low, high), (byte)random.Next(low, high), (byte)random.Next(low, high));
}
