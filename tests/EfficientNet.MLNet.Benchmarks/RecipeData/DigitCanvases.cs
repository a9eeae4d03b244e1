using System.Globalization;
using SkiaSharp;

/// <summary>
/// A real multi-label set: canvases of 2 x 2 cells, each canvas holding two or three different handwritten digits
/// (scikit-learn's scans, <see cref="HandwrittenDigits"/>) in random cells, labelled with the digits it shows ("3;7;9").
/// Every scan is used by one split only, so a test canvas shows handwriting no training canvas had. Written as PNGs and
/// one CSV per split with the columns ImagePath and Labels, as a user's multi-label data looks.
/// </summary>
internal static class DigitCanvases
{
    /// <summary>The labels, the digits "0" to "9".</summary>
    public static readonly string[] Labels = Enumerable.Range(0, 10).Select(d => d.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>One split: its CSV and its rows (image path, the digits it shows).</summary>
    public sealed record Split(string Csv, IReadOnlyList<(string Path, int[] Digits)> Rows);

    /// <summary>Writes the train, validation and test canvases into <paramref name="folder"/>.</summary>
    /// <param name="folder">Where the PNGs and CSVs go.</param>
    /// <param name="cell">A cell's side in pixels (the canvas is twice it).</param>
    /// <param name="counts">Canvases of each split.</param>
    /// <param name="seed">The split of the scans and the canvases' draws.</param>
    public static (Split Train, Split Validation, Split Test) Write(string folder, int cell, (int Train, int Validation, int Test) counts, int seed)
    {
        if (!File.Exists(HandwrittenDigits.DebianPath))
            throw new FileNotFoundException($"scikit-learn's digits are not here ({HandwrittenDigits.DebianPath}): sudo apt-get install python3-sklearn", HandwrittenDigits.DebianPath);
        var scans = HandwrittenDigits.ReadRows();
        var random = new Random(seed);
        var order = Enumerable.Range(0, scans.Count).ToArray();
        random.Shuffle(order);
        // The scans split in proportion to the canvases each split draws from them.
        var total = counts.Train + counts.Validation + counts.Test;
        var trainEnd = order.Length * counts.Train / total;
        var validationEnd = trainEnd + order.Length * counts.Validation / total;
        Split Make(string name, ArraySegment<int> pool, int count)
        {
            var byDigit = pool.GroupBy(i => scans[i].Digit).ToDictionary(g => g.Key, g => g.ToArray());
            var rows = new List<(string, int[])>();
            for (var n = 0; n < count; n++)
            {
                var digits = Enumerable.Range(0, 10).Where(byDigit.ContainsKey).OrderBy(_ => random.Next()).Take(2 + random.Next(2)).ToArray();
                var cells = Enumerable.Range(0, 4).OrderBy(_ => random.Next()).ToArray();
                using var canvas = new SKBitmap(2 * cell, 2 * cell, SKColorType.Rgba8888, SKAlphaType.Premul);
                canvas.Erase(SKColors.Black);
                using (var drawing = new SKCanvas(canvas))
                    for (var k = 0; k < digits.Length; k++)
                    {
                        var choices = byDigit[digits[k]];
                        using var scan = HandwrittenDigits.Upscale(scans[choices[random.Next(choices.Length)]].Pixels, cell);
                        drawing.DrawBitmap(scan, cells[k] % 2 * cell, cells[k] / 2 * cell);
                    }
                var path = Path.Combine(folder, name, $"{n:D4}.png");
                RecipeDataset.SavePng(canvas, path);
                rows.Add((path, digits.Order().ToArray()));
            }
            var csv = Path.Combine(folder, $"{name}.csv");
            File.WriteAllLines(csv, new[] { "ImagePath,Labels" }.Concat(rows.Select(r => $"{r.Item1},{string.Join(';', r.Item2)}")));
            return new Split(csv, rows);
        }
        return (Make("train", new ArraySegment<int>(order, 0, trainEnd), counts.Train),
            Make("validation", new ArraySegment<int>(order, trainEnd, validationEnd - trainEnd), counts.Validation),
            Make("test", new ArraySegment<int>(order, validationEnd, order.Length - validationEnd), counts.Test));
    }
}
