using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace EfficientNet.MLNet.Tests;

/// <summary>
/// Runs the same work on threads of their own, released together by a barrier, and fails unless the runs overlapped
/// in time: Parallel.For may run its iterations one after another when the thread pool is short of threads on a busy
/// machine, and a test of concurrent use then tests nothing.
/// </summary>
internal static class Simultaneously
{
    /// <summary>Calls <paramref name="body"/> with 0 to <paramref name="count"/> - 1 at once; rethrows the first failure.</summary>
    public static void Run(int count, Action<int> body)
    {
        using var barrier = new Barrier(count);
        var clock = Stopwatch.StartNew();
        var starts = new TimeSpan[count];
        var ends = new TimeSpan[count];
        var failures = new Exception?[count];
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            starts[i] = clock.Elapsed;
            try
            {
                body(i);
            }
            catch (Exception e)
            {
                failures[i] = e;
            }
            ends[i] = clock.Elapsed;
        }) { Name = $"simultaneous run {i}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        if (failures.FirstOrDefault(f => f is not null) is { } failure)
            ExceptionDispatchInfo.Capture(failure).Throw();
        Assert.True(starts.Max() < ends.Min(), $"the runs did not overlap: started at {string.Join(", ", starts)}, ended at {string.Join(", ", ends)}");
    }
}
