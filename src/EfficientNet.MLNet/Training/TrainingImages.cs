using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;

namespace EfficientNet.MLNet.Training;

/// <summary>A labelled batch as planar RGB images (3 x size x size bytes each) and 0-based class indices.</summary>
internal sealed record ImageRows(IReadOnlyList<byte[]> Images, long[] Labels);

/// <summary>
/// The images a training run reads, epoch after epoch: decoded once and kept in memory when they fit the memory
/// budget (<see cref="CachedTrainingImages"/>), otherwise decoded from the IDataView cursor each epoch through a
/// shuffle buffer (<see cref="StreamedTrainingImages"/>), so memory does not grow with the number of images.
/// </summary>
internal abstract class TrainingImages
{
    protected TrainingImages(int count, int size)
    {
        Count = count;
        Size = size;
    }

    /// <summary>Images in the set.</summary>
    public int Count { get; }

    /// <summary>Their square size.</summary>
    public int Size { get; }

    /// <summary>Bytes of decoded images held in memory.</summary>
    public abstract long CachedBytes { get; }

    /// <summary>One epoch in a random order drawn from <paramref name="random"/>.</summary>
    public abstract IEnumerable<ImageRows> Shuffled(int batchSize, Random random);

    /// <summary>One pass in data order (for validation).</summary>
    public abstract IEnumerable<ImageRows> InOrder(int batchSize);

    /// <summary>Bytes one decoded image takes.</summary>
    public static long BytesPerImage(int size) => 3L * size * size;

    /// <summary>
    /// Counts the rows <paramref name="include"/> keeps (checking that each has a label), then caches them if they fit
    /// <paramref name="cacheBudgetBytes"/>, or streams them.
    /// </summary>
    public static TrainingImages Create(IDataView data, string dataName, string imageColumnName, string labelColumnName, int size,
        Func<long, bool> include, long cacheBudgetBytes, Action checkCancellation, Action<ImageRowException>? skip = null)
    {
        var reader = new ImageRowReader(data, dataName, imageColumnName, labelColumnName, size, include, checkCancellation, skip);
        var count = reader.CountAndCheckLabels();
        return count * BytesPerImage(size) <= cacheBudgetBytes
            ? CachedTrainingImages.Read(reader, count)
            : new StreamedTrainingImages(reader, count);
    }

    /// <summary>The default memory budget for decoded images: a quarter of the memory available to .NET, at most 4 GiB.</summary>
    public static long DefaultCacheBudgetBytes() =>
        Math.Min(4L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);
}
