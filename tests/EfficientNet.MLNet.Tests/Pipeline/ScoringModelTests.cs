using EfficientNet.MLNet.Network;
using EfficientNet.MLNet.Weights;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// What scoring does with the network is invisible from outside: whatever a user does to <c>transformer.Model</c>
/// (train mode, new weights, another dtype, a summary), Transform scores the network as it now is, in eval mode, on
/// either engine (TorchSharp refolds its batch norms; ONNX Runtime rebuilds its session from the changed weights).
/// </summary>
[Collection(TrainingCollection.Name)]
public class ScoringModelTests(ShapesFixture shapes)
{
    IDataView Images => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TestSet, 12));

    /// <summary>A copy of the trained classifier, so that tests can change it freely.</summary>
    EfficientNetTransformer Copy(FixturePaths.TemporaryFolder folder, ScoringEngine engine = ScoringEngine.Auto)
    {
        var zip = folder.File($"copy-{Guid.NewGuid():N}.zip");
        shapes.MLContext.Model.Save(shapes.Classifier, Images.Schema, zip);
        var copy = (EfficientNetTransformer)shapes.MLContext.Model.Load(zip, out _);
        copy.ScoringEngine = engine;
        return copy;
    }

    public static TheoryData<ScoringEngine> Engines() => new() { ScoringEngine.TorchSharp, ScoringEngine.OnnxRuntime };

    List<float[]> Scores(ITransformer model) => model.Transform(Images).GetColumn<float[]>("Score").ToList();

    static void AssertScores(List<float[]> expected, List<float[]> actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], new ToleranceComparer(tolerance));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Scoring_runs_in_eval_mode_whatever_mode_the_model_was_left_in(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var copy = Copy(folder, engine);
        var expected = Scores(copy);

        copy.Model.train();

        AssertScores(expected, Scores(copy));
        Assert.True(copy.Model.training, "scoring leaves the mode the user chose");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Scoring_uses_weights_loaded_into_the_model_after_it_scored(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var copy = Copy(folder, engine);
        var before = Scores(copy);
        var changed = copy.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        changed["classifier.1.bias"].add_(tensor(new[] { 3f, 0, 0, 0 }));
        changed["features.0.1.running_mean"].add_(0.5f);

        copy.Model.LoadStateDict(changed);
        var afterLoad = Scores(copy);
        var zip = folder.File("changed.zip");
        shapes.MLContext.Model.Save(copy, Images.Schema, zip);
        using var reloaded = (EfficientNetTransformer)shapes.MLContext.Model.Load(zip, out _);
        reloaded.ScoringEngine = engine;

        AssertScores(Scores(reloaded), afterLoad);
        Assert.True(before.Zip(afterLoad).Any(p => Math.Abs(p.First[0] - p.Second[0]) > 0.1), "the new weights moved the scores");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Scoring_uses_weights_changed_in_place_after_it_scored(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var copy = Copy(folder, engine);
        using var other = Copy(folder, engine);
        var before = Scores(copy);

        using (no_grad())
            foreach (var (name, tensor) in copy.Model.state_dict().Where(p => p.Key.StartsWith("features.0.", StringComparison.Ordinal) && p.Value.is_floating_point()))
                tensor.mul_(1.5f);
        var after = Scores(copy);
        using (no_grad())
            foreach (var (name, tensor) in other.Model.state_dict().Where(p => p.Key.StartsWith("features.0.", StringComparison.Ordinal) && p.Value.is_floating_point()))
                tensor.mul_(1.5f);

        AssertScores(Scores(other), after);
        Assert.True(before.Zip(after).Any(p => Math.Abs(p.First[0] - p.Second[0]) > 1e-3), "the change moved the scores");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Scoring_follows_the_model_to_another_dtype(ScoringEngine engine)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var copy = Copy(folder, engine);
        var expected = Scores(copy);

        copy.Model.to(ScalarType.Float64);

        AssertScores(expected, Scores(copy));
    }

    [Fact]
    public void The_summary_of_a_model_that_scored_lists_every_layer()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        using var copy = Copy(folder);
        using var fresh = new EfficientNetModel(copy.Scaling, copy.ClassNames.Count);
        var expected = ModelSummary.Of(fresh, 48);
        Scores(copy);

        var summary = ModelSummary.Of(copy.Model, 48);

        Assert.Equal(expected.Layers.Select(l => (l.Name, l.Type)), summary.Layers.Select(l => (l.Name, l.Type)));
        Assert.Equal(expected.MultiplyAdds, summary.MultiplyAdds);
        Assert.Equal(expected.Layers.Count(l => l.Type == "BatchNorm2d"), summary.Layers.Count(l => l.Type == "BatchNorm2d"));
        Assert.Equal(49, summary.Layers.Count(l => l.Type == "BatchNorm2d"));
    }
}
