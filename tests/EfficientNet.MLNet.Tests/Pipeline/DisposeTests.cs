using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Network;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Disposing a model that other threads are scoring with is safe: scoring in flight finishes, later use throws
/// ObjectDisposedException, and nothing crashes the process. ML.NET's PredictionEngine disposes the model it was
/// given by default, so with one engine per thread the first engine disposed takes the shared model with it.
/// </summary>
[Collection(TrainingCollection.Name)]
public class DisposeTests(ShapesFixture shapes)
{
    const int Threads = 4;

    ITransformer Copy(FixturePaths.TemporaryFolder folder)
    {
        var zip = folder.File("model.zip");
        shapes.MLContext.Model.Save(shapes.Model, shapes.TrainSet.Schema, zip);
        return shapes.MLContext.Model.Load(zip, out _);
    }

    [Fact]
    public void Engines_with_default_options_disposed_while_others_predict_end_in_ObjectDisposedException_not_a_crash()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var model = Copy(folder);
        var rows = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(20).ToList();
        var predicted = new int[Threads];
        var errors = new Exception?[Threads];
        using var started = new CountdownEvent(Threads);

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            try
            {
                // Default options: the engine owns (and disposes) the shared model.
                var engine = shapes.MLContext.Model.CreatePredictionEngine<LabeledImage, ScoreRow>(model);
                started.Signal();
                started.Wait();
                try
                {
                    // Thread 0 disposes its engine (and so the model) after a few predictions; the others keep going.
                    for (var i = 0; i < (t == 0 ? 3 : 200); i++)
                    {
                        Assert.Equal(4, engine.Predict(rows[i % rows.Count]).Score.Length);
                        predicted[t]++;
                    }
                }
                finally
                {
                    engine.Dispose();
                }
            }
            catch (Exception e)
            {
                errors[t] = e;
            }
        });

        Assert.Equal(3, predicted[0]);
        Assert.Null(errors[0]);
        for (var t = 1; t < Threads; t++)
            Assert.True(errors[t] is ObjectDisposedException, $"thread {t} ended with {errors[t]?.GetType().Name ?? "no error"} after {predicted[t]} predictions: {errors[t]}");
    }

    [Fact]
    public async Task A_summary_while_other_threads_score_describes_the_model_and_does_not_disturb_them()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var zip = folder.File("classifier.zip");
        var data = shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TestSet, 24));
        shapes.MLContext.Model.Save(shapes.Classifier, data.Schema, zip);
        using var classifier = (EfficientNetTransformer)shapes.MLContext.Model.Load(zip, out _);
        var expected = classifier.Transform(data).GetColumn<float[]>("Score").ToList();
        using var fresh = new EfficientNetModel(classifier.Scaling, 4);
        var expectedLayers = ModelSummary.Of(fresh, 48).Layers.Count;
        using var stop = new CancellationTokenSource();

        var rounds = new int[2];
        var scoring = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var scores = classifier.Transform(data).GetColumn<float[]>("Score").ToList();
                for (var i = 0; i < expected.Count; i++)
                    Assert.Equal(expected[i], scores[i], new ToleranceComparer(1e-5f));
                Interlocked.Increment(ref rounds[t]);
            }
        })).ToArray();
        int Rounds(int t) => Volatile.Read(ref rounds[t]);
        bool Failed() => scoring.Any(t => t.IsFaulted);

        // The summaries run while both threads score: from when each has scored once until each has scored twice more.
        Assert.True(SpinWait.SpinUntil(() => Failed() || (Rounds(0) > 0 && Rounds(1) > 0), TimeSpan.FromMinutes(2)), "the scoring threads did not start");
        var started = new[] { Rounds(0), Rounds(1) };
        var summaries = new List<int>();
        while (!Failed() && (summaries.Count < 10 || Rounds(0) < started[0] + 2 || Rounds(1) < started[1] + 2))
            summaries.Add(ModelSummary.Of(classifier.Model, 48).Layers.Count);
        stop.Cancel();

        await Task.WhenAll(scoring); // a scoring thread's failed assertion surfaces here
        Assert.All(summaries, count => Assert.Equal(expectedLayers, count));
        Assert.True(summaries.Count >= 10);
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
