using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Scoring a few thousand images from several threads at once, both ways ML.NET offers: one PredictionEngine per
/// thread, and one transformer whose Transform is enumerated on every thread. Results equal single-threaded
/// scoring, and live memory (the .NET heap plus glibc's bytes in use) after equals memory before within a small margin.
/// </summary>
[Collection(TrainingCollection.Name)]
public class ConcurrencyTests(ShapesFixture shapes)
{
    const int Threads = 4;

    List<LabeledImage> Rows(int count)
    {
        var images = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).ToList();
        return Enumerable.Range(0, count).Select(i => images[i % images.Count]).ToList();
    }

    List<float[]> ScoreOnOneThread(List<LabeledImage> rows) =>
        shapes.Model.Transform(shapes.MLContext.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToList();

    static void AssertSameScores(List<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void One_transformer_scores_from_several_threads_like_one_thread_without_growing_memory()
    {
        var rows = Rows(800);
        var expected = ScoreOnOneThread(rows);
        var data = shapes.MLContext.Data.LoadFromEnumerable(rows);
        float[][][] ScoreOnAllThreads()
        {
            var results = new float[Threads][][];
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads },
                t => results[t] = shapes.Model.Transform(data).GetColumn<float[]>("Score").ToArray());
            return results;
        }
        ScoreOnAllThreads(); // warm-up: per-thread allocator caches reach their size
        var before = ProcessMemory.LiveBytes();

        var results = ScoreOnAllThreads();
        var after = ProcessMemory.LiveBytes();

        Assert.All(results, perThread => AssertSameScores(expected, perThread));
        Assert.True(after - before < 40L << 20, $"live memory grew by {(after - before) >> 20} MB while {Threads} threads scored {Threads * rows.Count} images");
    }

    [Fact]
    public void One_PredictionEngine_per_thread_scores_like_one_thread_without_growing_memory()
    {
        var rows = Rows(300);
        var expected = ScoreOnOneThread(rows);
        var options = new PredictionEngineOptions { OwnsTransformer = false }; // else the engine disposes the shared model
        float[][][] PredictOnAllThreads()
        {
            var results = new float[Threads][][];
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
            {
                using var engine = shapes.MLContext.Model.CreatePredictionEngine<LabeledImage, ScoreRow>(shapes.Model, options);
                results[t] = rows.Select(r => engine.Predict(r).Score).ToArray();
            });
            return results;
        }
        PredictOnAllThreads();
        var before = ProcessMemory.LiveBytes();

        var results = PredictOnAllThreads();
        var after = ProcessMemory.LiveBytes();

        Assert.All(results, perThread => AssertSameScores(expected, perThread));
        Assert.True(after - before < 40L << 20, $"live memory grew by {(after - before) >> 20} MB while {Threads} engines predicted {Threads * rows.Count} images");
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
