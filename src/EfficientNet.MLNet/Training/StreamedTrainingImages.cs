namespace EfficientNet.MLNet.Training;

/// <summary>
/// Training images decoded from the IDataView cursor every epoch, for data over the memory budget. An epoch's order is
/// a uniformly random permutation of all the rows, as with cached images, whatever order the data has (folders of
/// images are often sorted by class): the permutation is cut into blocks that fit the budget, and each block is
/// gathered by one pass of the cursor that decodes only that block's images. So an epoch moves the cursor over the
/// data once per block, decodes every image once, and holds at most one block of decoded images.
/// </summary>
internal sealed class StreamedTrainingImages : TrainingImages
{
    /// <summary>Batches in a block when the memory budget allows: more only adds memory, not randomness.</summary>
    public const int ShuffleBufferBatches = 32;

    private readonly ImageRowReader reader;

    public StreamedTrainingImages(ImageRowReader reader, int count, string labelFingerprint, IReadOnlyDictionary<long, int> classCounts, int shuffleCapacity)
        : base(count, reader.Size, labelFingerprint, classCounts)
    {
        this.reader = reader;
        ShuffleCapacityImages = shuffleCapacity;
    }

    /// <summary>Decoded images held at once: one block of the epoch's permutation.</summary>
    public int ShuffleCapacityImages { get; }

    /// <summary>
    /// The block size in images: <see cref="ShuffleBufferBatches"/> batches, fewer if the budget holds fewer images,
    /// never less than a batch.
    /// </summary>
    public static int ShuffleCapacity(int batchSize, long imagesInBudget) =>
        (int)Math.Max(batchSize, Math.Min((long)batchSize * ShuffleBufferBatches, imagesInBudget));

    public override long CachedBytes => 0;

    public override long MemoryBytes => ShuffleCapacityImages * BytesPerImage(Size);

    public override IEnumerable<ImageRows> Shuffled(int batchSize, Random random) => Batch(InPermutation(random), batchSize, reader.Weighted);

    public override IEnumerable<ImageRows> InOrder(int batchSize) => Batch(reader.Rows(), batchSize, reader.Weighted);

    IEnumerable<ImageRow> InPermutation(Random random)
    {
        var order = Permutation(Count, random);
        for (var start = 0; start < order.Length; start += ShuffleCapacityImages)
        {
            // Where each of this block's rows (by its index among the rows read) goes in the block.
            var block = order.AsSpan(start, Math.Min(ShuffleCapacityImages, order.Length - start));
            var slotOf = new Dictionary<int, int>(block.Length);
            for (var slot = 0; slot < block.Length; slot++)
                slotOf[block[slot]] = slot;
            var gathered = new ImageRow?[block.Length];
            foreach (var (index, row) in reader.Rows(slotOf.ContainsKey))
                gathered[slotOf[index]] = row;
            // Unreadable images (skipped by the reader) leave their slot empty.
            foreach (var row in gathered)
                if (row is { } kept)
                    yield return kept;
        }
    }

    static IEnumerable<ImageRows> Batch(IEnumerable<ImageRow> rows, int batchSize, bool weighted)
    {
        var batch = new List<ImageRow>(batchSize);
        ImageRows Rows() => new(batch.Select(r => r.Image).ToList(), batch.Select(r => r.Labels).ToArray(), weighted ? batch.Select(r => r.Weight).ToArray() : null);
        foreach (var row in rows)
        {
            batch.Add(row);
            if (batch.Count == batchSize)
            {
                yield return Rows();
                batch.Clear();
            }
        }
        if (batch.Count > 0)
            yield return Rows();
    }
}
