namespace EfficientNet.MLNet.Training;

/// <summary>Training images decoded once and kept in memory.</summary>
internal sealed class CachedTrainingImages : TrainingImages
{
    private readonly List<byte[]> images;
    private readonly List<long> labels;

    private CachedTrainingImages(List<byte[]> images, List<long> labels, int size, string labelFingerprint) : base(images.Count, size, labelFingerprint)
    {
        this.images = images;
        this.labels = labels;
    }

    public static CachedTrainingImages Read(ImageRowReader reader, int expectedCount, string labelFingerprint)
    {
        var images = new List<byte[]>(expectedCount);
        var labels = new List<long>(expectedCount);
        foreach (var (image, label) in reader.Rows())
        {
            images.Add(image);
            labels.Add(label);
        }
        return new CachedTrainingImages(images, labels, reader.Size, labelFingerprint);
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
            yield return new ImageRows(indices.Select(i => images[i]).ToList(), indices.Select(i => labels[i]).ToArray());
        }
    }
}
