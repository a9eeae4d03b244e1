using EfficientNet.MLNet.Datasets;
using SkiaSharp;

/// <summary>
/// A dataset for choosing the training recipe's defaults: a small training split and a larger held-out test split,
/// written as PNG files (one folder per class) and, for the SVC baseline, as raw pixels in a CSV.
/// </summary>
/// <param name="Name">How reports name it.</param>
/// <param name="Train">The training images.</param>
/// <param name="Test">The test images (never trained on).</param>
internal sealed record RecipeDataset(string Name, IReadOnlyList<LabeledImage> Train, IReadOnlyList<LabeledImage> Test)
{
    /// <summary>
    /// Writes "split,label,pixel0,..." rows (grey or RGB bytes, as decoded from the PNG files) for svc_baseline.py: the
    /// same pixels the network is given, so the baseline and the network see the same data.
    /// </summary>
    public void WritePixelsCsv(string path, bool grey)
    {
        using var writer = new StreamWriter(path);
        foreach (var (split, images) in new[] { ("train", Train), ("test", Test) })
            foreach (var image in images)
            {
                using var bitmap = SKBitmap.Decode(image.ImagePath);
                var values = new List<int>(bitmap.Width * bitmap.Height * 3);
                for (var y = 0; y < bitmap.Height; y++)
                    for (var x = 0; x < bitmap.Width; x++)
                    {
                        var pixel = bitmap.GetPixel(x, y);
                        if (grey) values.Add(pixel.Red);
                        else values.AddRange(new int[] { pixel.Red, pixel.Green, pixel.Blue });
                    }
                writer.Write(split);
                writer.Write(',');
                writer.Write(image.Label);
                writer.Write(',');
                writer.WriteLine(string.Join(',', values));
            }
    }

    /// <summary>Encodes <paramref name="bitmap"/> as a PNG file.</summary>
    public static void SavePng(SKBitmap bitmap, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}
