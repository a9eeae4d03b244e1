using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// The two scoring engines: ONNX Runtime on the model's own export (the default where the application can load it)
/// and TorchSharp agree within 1e-4, and a loaded model scored through ONNX Runtime never builds its TorchSharp
/// network (so it needs no libtorch).
/// </summary>
[Collection(TrainingCollection.Name)]
public class ScoringEngineTests(ShapesFixture shapes)
{
    IDataView Rows => shapes.MLContext.Data.LoadFromEnumerable(
        shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).GroupBy(r => r.Label).SelectMany(g => g.Take(8)).ToList());

    ITransformer LoadCopy(FixturePaths.TemporaryFolder folder)
    {
        var zip = folder.File("model.zip");
        shapes.MLContext.Model.Save(shapes.Model, shapes.TrainSet.Schema, zip);
        return new MLContext().Model.Load(zip, out _);
    }

    static EfficientNetTransformer ClassifierOf(ITransformer chain) => ((IEnumerable<ITransformer>)chain).OfType<EfficientNetTransformer>().Single();

    [Fact]
    public void ONNX_Runtime_and_TorchSharp_give_the_same_probabilities_within_1e_4()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var chain = LoadCopy(folder);
        var classifier = ClassifierOf(chain);
        using var _ = classifier;

        var auto = chain.Transform(Rows).GetColumn<float[]>("Score").ToList();
        var engineOfAuto = classifier.ScoringEngineInUse;
        classifier.ScoringEngine = ScoringEngine.TorchSharp;
        var torchSharp = chain.Transform(Rows).GetColumn<float[]>("Score").ToList();
        classifier.ScoringEngine = ScoringEngine.OnnxRuntime;
        var onnxRuntime = chain.Transform(Rows).GetColumn<float[]>("Score").ToList();

        Assert.Equal(ScoringEngine.OnnxRuntime, engineOfAuto);
        Assert.Equal(32, auto.Count);
        for (var i = 0; i < auto.Count; i++)
        {
            Assert.Equal(torchSharp[i], onnxRuntime[i], new ToleranceComparer(1e-4f));
            Assert.Equal(onnxRuntime[i], auto[i], new ToleranceComparer(1e-6f));
        }
    }

    [Fact]
    public void A_loaded_model_scored_through_ONNX_Runtime_never_builds_its_TorchSharp_network()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var chain = LoadCopy(folder);
        using var classifier = ClassifierOf(chain);
        using var engine = new MLContext().Model.CreatePredictionEngine<LabeledImage, ScoreRow>(chain, new PredictionEngineOptions { OwnsTransformer = false });
        var rows = shapes.MLContext.Data.CreateEnumerable<LabeledImage>(shapes.TestSet, reuseRowObject: false).Take(3).ToList();

        var scores = chain.Transform(Rows).GetColumn<float[]>("Score").ToList();
        var single = rows.Select(r => engine.Predict(r).Score).ToList();
        var resaved = folder.File("again.zip");
        new MLContext().Model.Save(chain, shapes.TrainSet.Schema, resaved);
        classifier.ExportOnnx(folder.File("model.onnx"));

        Assert.False(classifier.HasTorchSharpNetwork, "scoring, saving and exporting built the TorchSharp network");
        Assert.Equal(32, scores.Count);
        Assert.All(single, s => Assert.Equal(1f, s.Sum(), 1e-4f));
        Assert.InRange(File.ReadAllBytes(resaved).Length - File.ReadAllBytes(folder.File("model.zip")).Length, -64, 64); // the same weights written back
        _ = classifier.Model; // now it is built
        Assert.True(classifier.HasTorchSharpNetwork);
    }

    [Theory]
    [InlineData(ScoringEngine.Auto)]
    [InlineData(ScoringEngine.TorchSharp)]
    public void WarmUp_prepares_the_engine_before_the_first_prediction_and_changes_no_score(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var chain = LoadCopy(folder);
        var classifier = ClassifierOf(chain);
        classifier.ScoringEngine = engine;
        var (sessionBefore, networkBefore) = (classifier.HasOnnxSession, classifier.HasTorchSharpNetwork);

        classifier.WarmUp();

        var (sessionAfter, networkAfter) = (classifier.HasOnnxSession, classifier.HasTorchSharpNetwork);
        var scores = chain.Transform(Rows).GetColumn<float[]>("Score").ToList();
        classifier.Dispose();
        Assert.Equal((false, false), (sessionBefore, networkBefore));
        Assert.Equal(engine == ScoringEngine.Auto ? (true, false) : (false, true), (sessionAfter, networkAfter));
        var expected = shapes.Model.Transform(Rows).GetColumn<float[]>("Score").ToList();
        for (var i = 0; i < scores.Count; i++)
            Assert.Equal(expected[i], scores[i], new ToleranceComparer(1e-4f));
        Assert.Throws<ObjectDisposedException>(classifier.WarmUp);
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
