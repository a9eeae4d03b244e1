using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;
using EfficientNet.MLNet.WebService;
using Microsoft.Extensions.Logging.Abstractions;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>The web service's model holder, in this process: what happens around Dispose and failed reloads.</summary>
[Collection(TrainingCollection.Name)]
public sealed class ModelHolderTests : IDisposable
{
    private readonly FixturePaths.TemporaryFolder folder = new();
    private readonly string model;

    public ModelHolderTests() => (_, model) = QuickCliModel.Train(folder, imagesPerClass: 2, seed: 14);

    public void Dispose() => folder.Dispose();

    [Fact]
    public async Task A_reload_after_dispose_loads_nothing_and_a_change_after_it_starts_no_timer()
    {
        var holder = new ModelHolder(model, NullLogger<ModelHolder>.Instance);
        holder.Dispose();

        await holder.ReloadAsync(); // as the watcher's timer would, firing late
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(1)); // no watcher is left to see it
        await Task.Delay(1000, TestContext.Current.CancellationToken);

        // Before, the late reload loaded the file again and swapped it in: a model nobody would ever release.
        Assert.Equal(1, holder.Version);
        Assert.Null(holder.LastReloadError);
    }

    [Fact]
    public async Task A_reload_that_fails_keeps_the_model_serving_says_why_and_never_throws()
    {
        using var holder = new ModelHolder(model, NullLogger<ModelHolder>.Instance);
        var kept = holder.Acquire();
        kept.Release();
        File.Move(model, model + ".away");
        Directory.CreateDirectory(model); // the path is now a folder

        await holder.ReloadAsync(); // never throws

        Assert.Equal(1, holder.Version);
        Assert.NotNull(holder.LastReloadError);
        var served = holder.Acquire();
        try
        {
            Assert.Same(kept, served);
        }
        finally
        {
            served.Release();
        }
    }
}
