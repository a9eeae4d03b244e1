using System.Collections.Concurrent;

namespace EfficientNet.MLNet.Training;

/// <summary>Runs an enumeration on a background thread a few items ahead, so that reading and decoding the next batch overlaps computing the current one.</summary>
internal static class Prefetch
{
    public static IEnumerable<T> Ahead<T>(IEnumerable<T> source, int capacity)
    {
        using var queue = new BlockingCollection<T>(capacity);
        using var stop = new CancellationTokenSource();
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var item in source)
                    queue.Add(item, stop.Token);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
        try
        {
            foreach (var item in queue.GetConsumingEnumerable())
                yield return item;
            producer.GetAwaiter().GetResult(); // the producer's own error, if it stopped on one
        }
        finally
        {
            if (!producer.IsCompleted)
            {
                stop.Cancel();
                try { producer.Wait(); }
                catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException)) { }
            }
        }
    }
}
