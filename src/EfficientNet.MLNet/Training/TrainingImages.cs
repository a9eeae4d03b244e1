using EfficientNet.MLNet.Pipeline;
using EfficientNet.MLNet.Tasks;
using Microsoft.ML;

namespace EfficientNet.MLNet.Training;

/// <summary>
/// A labelled batch as planar RGB images (3 x size x size bytes each), each row's 0-based labels (one class, or a label
/// set), and the rows' example weights (null without an example-weight column).
/// </summary>
internal sealed record ImageRows(IReadOnlyList<byte[]> Images, int[][] Labels, float[]? Weights = null);

/// <summary>
/// The images a training run reads, epoch after epoch: decoded once and kept in memory when they fit the memory
/// budget (<see cref="CachedTrainingImages"/>), otherwise decoded from the IDataView cursor each epoch through a
/// shuffle buffer (<see cref="StreamedTrainingImages"/>), so memory does not grow with the number of images.
/// </summary>
internal abstract class TrainingImages
{
    protected TrainingImages(int count, int size, string labelFingerprint, IReadOnlyDictionary<long, int> classCounts)
    {
        Count = count;
        Size = size;
        LabelFingerprint = labelFingerprint;
        ClassCounts = classCounts;
    }

    /// <summary>Rows with each label (by 0-based class or label; one without rows is absent), counted before decoding.</summary>
    public IReadOnlyDictionary<long, int> ClassCounts { get; }

    /// <summary>
    /// Rows in the set: its images, unless some could not be read and are skipped (a cached set knows its images; a
    /// streamed one meets the unreadable ones only while reading, so metrics count the images each pass really used).
    /// </summary>
    public int Count { get; }

    /// <summary>A hash of the rows' labels (and example weights) in order: the same data gives the same fingerprint.</summary>
    public string LabelFingerprint { get; }

    /// <summary>Their square size.</summary>
    public int Size { get; }

    /// <summary>Bytes of decoded images held in memory.</summary>
    public abstract long CachedBytes { get; }

    /// <summary>At most how many bytes of decoded images the set holds at once (its cache, or its shuffle buffer).</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>One epoch in a random order drawn from <paramref name="random"/>.</summary>
    public abstract IEnumerable<ImageRows> Shuffled(int batchSize, Random random);

    /// <summary>One pass in data order (for validation).</summary>
    public abstract IEnumerable<ImageRows> InOrder(int batchSize);

    /// <summary>An epoch's order of <paramref name="count"/> rows: the same for cached and streamed images, so both train alike.</summary>
    protected static int[] Permutation(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
    }

    /// <summary>Bytes one decoded image takes.</summary>
    public static long BytesPerImage(int size) => 3L * size * size;

    /// <summary>
    /// Counts the rows <paramref name="include"/> keeps (checking that each has a label), then caches them if they fit
    /// <paramref name="memoryBudgetBytes"/>, or streams them through a shuffle buffer that fits it (at least one batch).
    /// </summary>
    public static TrainingImages Create(IDataView data, string dataName, ImageColumn image, LabelReading labels, int size,
        Func<long, bool> include, long memoryBudgetBytes, int batchSize, Action checkCancellation, Action<ImageRowException>? skip = null,
        DataViewSchema.Column? weight = null, bool multiLabel = false)
    {
        var reader = new ImageRowReader(data, dataName, image, labels, size, include, checkCancellation, skip, weight, multiLabel);
        var (count, fingerprint, classCounts) = reader.CountAndCheckLabels();
        return count * BytesPerImage(size) <= memoryBudgetBytes
            ? CachedTrainingImages.Read(reader, count, fingerprint, classCounts)
            : new StreamedTrainingImages(reader, count, fingerprint, classCounts, StreamedTrainingImages.ShuffleCapacity(batchSize, memoryBudgetBytes / BytesPerImage(size)));
    }

    /// <summary>The default memory budget for decoded images: a quarter of the memory available to .NET, at most 4 GiB.</summary>
    public static long DefaultCacheBudgetBytes() =>
        Math.Min(4L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);
}
