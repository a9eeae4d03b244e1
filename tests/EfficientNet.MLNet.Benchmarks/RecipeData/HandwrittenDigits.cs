using System.Globalization;
using System.IO.Compression;
using EfficientNet.MLNet.Datasets;
using SkiaSharp;

/// <summary>
/// Real data: scikit-learn's handwritten digits (UCI's optical digits test set: 1,797 scans of 8 x 8 pixels, 0..16 of
/// ink, ten classes), shipped by Debian's python3-sklearn, so nothing is downloaded. Upscaled bilinearly to the
/// network's size; a seeded split keeps a few images of each class for training and tests on all the others.
/// </summary>
internal static class HandwrittenDigits
{
    public const string DebianPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

    public static RecipeDataset Write(string folder, int size, int trainPerClass, int seed)
    {
        if (!File.Exists(DebianPath))
            throw new FileNotFoundException($"scikit-learn's digits are not here ({DebianPath}): sudo apt-get install python3-sklearn", DebianPath);
        var rows = ReadRows();
        var random = new Random(seed);
        var order = Enumerable.Range(0, rows.Count).ToArray();
        random.Shuffle(order);
        var train = new List<LabeledImage>();
        var test = new List<LabeledImage>();
        var taken = new int[10];
        foreach (var index in order)
        {
            var (pixels, digit) = rows[index];
            var label = digit.ToString(CultureInfo.InvariantCulture);
            var isTrain = taken[digit] < trainPerClass;
            if (isTrain) taken[digit]++;
            var path = Path.Combine(folder, isTrain ? "train" : "test", label, $"{index:D4}.png");
            using var bitmap = Upscale(pixels, size);
            RecipeDataset.SavePng(bitmap, path);
            (isTrain ? train : test).Add(new LabeledImage(path, label));
        }
        return new RecipeDataset("digits", train, test);
    }

    internal static List<(float[] Pixels, int Digit)> ReadRows()
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(DebianPath), CompressionMode.Decompress));
        var rows = new List<(float[], int)>();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            var values = line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            rows.Add((values[..64], (int)values[64]));
        }
        return rows;
    }

    // Bilinear, pixel centres aligned (as torchvision's resize with align_corners=False): ink 16 is white.
    internal static SKBitmap Upscale(float[] pixels, int size)
    {
        var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var sy = Math.Clamp((y + 0.5) * 8 / size - 0.5, 0, 7);
                var sx = Math.Clamp((x + 0.5) * 8 / size - 0.5, 0, 7);
                int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, 7), x1 = Math.Min(x0 + 1, 7);
                double fy = sy - y0, fx = sx - x0;
                var value = (1 - fy) * ((1 - fx) * pixels[y0 * 8 + x0] + fx * pixels[y0 * 8 + x1]) + fy * ((1 - fx) * pixels[y1 * 8 + x0] + fx * pixels[y1 * 8 + x1]);
                var grey = (byte)Math.Round(value * 255 / 16);
                bitmap.SetPixel(x, y, new SKColor(grey, grey, grey));
            }
        return bitmap;
    }
}
