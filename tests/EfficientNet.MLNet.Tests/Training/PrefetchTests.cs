using EfficientNet.MLNet.Training;

namespace EfficientNet.MLNet.Tests.Training;

public class PrefetchTests
{
    [Fact]
    public void Yields_every_item_in_order_from_another_thread()
    {
        var producerThreads = new HashSet<int>();
        IEnumerable<int> Source()
        {
            for (var i = 0; i < 100; i++)
            {
                lock (producerThreads) producerThreads.Add(Environment.CurrentManagedThreadId);
                yield return i;
            }
        }

        var items = Prefetch.Ahead(Source(), capacity: 2).ToList();

        Assert.Equal(Enumerable.Range(0, 100), items);
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, producerThreads);
    }

    [Fact]
    public void A_producer_error_reaches_the_consumer()
    {
        static IEnumerable<int> Failing()
        {
            yield return 1;
            throw new EfficientNetException("row 2 is broken");
        }

        var error = Assert.Throws<EfficientNetException>(() => Prefetch.Ahead(Failing(), 2).ToList());

        Assert.Equal("row 2 is broken", error.Message);
    }

    [Fact]
    public void Stopping_early_stops_the_producer()
    {
        var produced = 0;
        var finished = false;
        IEnumerable<int> Endless()
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    Interlocked.Increment(ref produced);
                    yield return i;
                }
            }
            finally
            {
                // Runs when the producer disposes the source: it stopped, rather than waiting forever for room in the queue.
                Volatile.Write(ref finished, true);
            }
        }

        var first = Prefetch.Ahead(Endless(), 2).Take(5).ToList();

        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, first);
        Assert.True(Volatile.Read(ref finished), "the producer thread was still running after the consumer stopped");
        Assert.InRange(Volatile.Read(ref produced), 5, 9);
    }
}
