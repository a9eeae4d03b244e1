using Microsoft.ML;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// Fit keeps its random numbers to itself and puts libtorch's thread count back: two Fits in one process, even at
/// the same time, keep the "same seed, same weights" promise, and a user's own libtorch random stream is untouched.
/// </summary>
[Collection(TrainingCollection.Name)]
public class ProcessStateTests(ShapesFixture shapes)
{
    IDataView Train => shapes.Prepare.Transform(shapes.MLContext.Data.TakeRows(shapes.TrainSet, 48));

    // Dropout and stochastic depth on, so that training draws from libtorch's generator.
    EfficientNetTrainer.Options Options => ShapesFixture.Options(2) with { Seed = 11, Augment = true, DropoutRate = 0.5, StochasticDepthProbability = 0.5 };

    Dictionary<string, Tensor> FitWeights()
    {
        using var classifier = new MLContext().MulticlassClassification.Trainers.EfficientNet(Options).Fit(Train);
        return classifier.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
    }

    [Fact]
    public void Fit_leaves_libtorchs_random_stream_and_thread_count_as_it_found_them()
    {
        var threads = get_num_threads();
        manual_seed(123);
        using var expected = rand(8);
        manual_seed(123);

        using (new MLContext().MulticlassClassification.Trainers.EfficientNet(Options with { Threads = 1, Epochs = 1 }).Fit(Train)) { }
        using var actual = rand(8);

        TensorAssert.Identical(expected, actual);
        Assert.Equal(threads, get_num_threads());
    }

    [Fact]
    public void Two_fits_at_the_same_time_with_the_same_seed_give_the_weights_of_one_fit_alone()
    {
        var alone = FitWeights();

        var together = new Dictionary<string, Tensor>[2];
        Simultaneously.Run(2, i => together[i] = FitWeights());

        foreach (var weights in together)
            foreach (var (name, tensor) in alone)
                Assert.True(TensorAssert.AreIdentical(tensor, weights[name]), $"{name} differs from the Fit that ran alone");
    }
}
