namespace EfficientNet.MLNet.Training;

/// <summary>Training images decoded once and kept in memory.</summary>
internal sealed class CachedTrainingImages : TrainingImages
{
    private readonly List<byte[]> images;
    private readonly List<int[]> labels;
    private readonly List<float>? weights;

    private CachedTrainingImages(List<byte[]> images, List<int[]> labels, List<float>? weights, int size, string labelFingerprint, IReadOnlyDictionary<long, int> classCounts)
        : base(images.Count, size, labelFingerprint, classCounts)
    {
        this.images = images;
        this.labels = labels;
        this.weights = weights;
    }

    public static CachedTrainingImages Read(ImageRowReader reader, int expectedCount, string labelFingerprint, IReadOnlyDictionary<long, int> classCounts)
    {
        var images = new List<byte[]>(expectedCount);
        var labels = new List<int[]>(expectedCount);
        var weights = reader.Weighted ? new List<float>(expectedCount) : null;
        foreach (var row in reader.Rows())
        {
            images.Add(row.Image);
            labels.Add(row.Labels);
            weights?.Add(row.Weight);
        }
        return new CachedTrainingImages(images, labels, weights, reader.Size, labelFingerprint, classCounts);
    }

    public override long CachedBytes => Count * BytesPerImage(Size);

    public override long MemoryBytes => CachedBytes;

    public override IEnumerable<ImageRows> Shuffled(int batchSize, Random random) => Batches(Permutation(Count, random), batchSize);

    public override IEnumerable<ImageRows> InOrder(int batchSize) => Batches(Enumerable.Range(0, Count).ToArray(), batchSize);

    IEnumerable<ImageRows> Batches(int[] order, int batchSize)
    {
        for (var start = 0; start < order.Length; start += batchSize)
        {
            var indices = order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray();
            yield return new ImageRows(indices.Select(i => images[i]).ToList(), indices.Select(i => labels[i]).ToArray(), weights is null ? null : indices.Select(i => weights[i]).ToArray());
        }
    }
}
