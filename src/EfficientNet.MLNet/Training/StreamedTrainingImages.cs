namespace EfficientNet.MLNet.Training;

/// <summary>
/// Training images decoded from the IDataView cursor every epoch. Shuffling uses a buffer of a few dozen batches:
/// each image goes out at a random time while it is in the buffer, so memory stays bounded whatever the row count.
/// </summary>
internal sealed class StreamedTrainingImages : TrainingImages
{
    /// <summary>Batches held in the shuffle buffer.</summary>
    public const int ShuffleBufferBatches = 32;

    private readonly ImageRowReader reader;

    public StreamedTrainingImages(ImageRowReader reader, int count) : base(count, reader.Size) => this.reader = reader;

    public override long CachedBytes => 0;

    public override IEnumerable<ImageRows> Shuffled(int batchSize, Random random) => Batch(Shuffle(reader.Rows(), batchSize * ShuffleBufferBatches, random), batchSize);

    public override IEnumerable<ImageRows> InOrder(int batchSize) => Batch(reader.Rows(), batchSize);

    static IEnumerable<(byte[] Image, long Label)> Shuffle(IEnumerable<(byte[] Image, long Label)> rows, int capacity, Random random)
    {
        var buffer = new List<(byte[], long)>(capacity);
        foreach (var row in rows)
        {
            if (buffer.Count < capacity)
            {
                buffer.Add(row);
                continue;
            }
            var pick = random.Next(capacity);
            yield return buffer[pick];
            buffer[pick] = row;
        }
        while (buffer.Count > 0)
        {
            var pick = random.Next(buffer.Count);
            yield return buffer[pick];
            buffer[pick] = buffer[^1];
            buffer.RemoveAt(buffer.Count - 1);
        }
    }

    static IEnumerable<ImageRows> Batch(IEnumerable<(byte[] Image, long Label)> rows, int batchSize)
    {
        var images = new List<byte[]>(batchSize);
        var labels = new List<long>(batchSize);
        foreach (var (image, label) in rows)
        {
            images.Add(image);
            labels.Add(label);
            if (images.Count == batchSize)
            {
                yield return new ImageRows(images.ToList(), labels.ToArray());
                images.Clear();
                labels.Clear();
            }
        }
        if (images.Count > 0)
            yield return new ImageRows(images, labels.ToArray());
    }
}
