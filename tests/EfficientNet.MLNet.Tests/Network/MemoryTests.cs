using EfficientNet.MLNet.Imaging;
using EfficientNet.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests.Network;

/// <summary>Memory stays flat: counted exactly with TorchSharp's per-thread live-tensor statistics.</summary>
public class MemoryTests
{
    static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Fact]
    public void Forward_without_a_dispose_scope_leaves_no_intermediate_tensor_alive()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 3);
        model.eval();
        using var input = randn(2, 3, 64, 64);
        using var noGrad = no_grad();
        model.call(input).Dispose(); // warm-up
        var before = LiveTensors;

        for (var i = 0; i < 3; i++)
            model.call(input).Dispose();

        Assert.Equal(before, LiveTensors);
    }

    [Fact]
    public void Training_steps_in_dispose_scopes_keep_the_live_tensor_count_flat()
    {
        manual_seed(5);
        using var model = EfficientNetModel.Create("b0", numClasses: 2);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        using var input = randn(4, 3, 64, 64);
        using var labels = tensor(new long[] { 0, 1, 1, 0 });
        model.train();
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(NetworkInput.From(input, PixelNormalization.ImageNet)), labels).backward(); // the library's input path: channels-last
            optimizer.step();
        }
        Step(); // the first step creates the gradients and optimizer state
        var before = LiveTensors;

        for (var i = 0; i < 5; i++)
            Step();

        Assert.Equal(before, LiveTensors);
    }

    [Fact]
    public void Summary_leaves_no_tensor_alive()
    {
        using var model = EfficientNetModel.Create("b0", numClasses: 3);
        ModelSummary.Of(model, resolution: 64);
        var before = LiveTensors;

        ModelSummary.Of(model, resolution: 64);

        Assert.Equal(before, LiveTensors);
    }
}
