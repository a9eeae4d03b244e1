using System.Runtime.InteropServices;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;

namespace EfficientNet.MLNet.Tests.Native;

/// <summary>
/// With another C allocator preloaded (tcmalloc through LD_PRELOAD, which docs/PERFORMANCE.md measures for training on
/// Linux), Fit leaves glibc's settings alone, says so in its log, and trains; without it, Fit says it tunes glibc. The
/// CLI's train --verbose in child processes, since a preload takes effect only when a process starts.
/// </summary>
[Collection(TrainingCollection.Name)]
public class PreloadedAllocatorTests
{
    // Debian's libtcmalloc-minimal4 (.ci/run installs it).
    const string Tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

    [Fact]
    public void Under_a_preloaded_allocator_Fit_leaves_glibc_alone_and_trains()
    {
        Assert.SkipUnless(RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && File.Exists(Tcmalloc),
            $"{Tcmalloc} is not installed (apt-get install libtcmalloc-minimal4; .ci/run installs it)");
        using var folder = new FixturePaths.TemporaryFolder();
        SyntheticShapes.Write(folder.File("data"), 6, size: 32, seed: 5);
        (int Exit, string Output) Train(string model, IReadOnlyDictionary<string, string>? environment) => CliProcess.Run(new[]
        {
            "train", "--data", folder.File("data"), "--epochs", "1", "--resolution", "32", "--validation-fraction", "0", "--verbose", "--output", folder.File(model),
        }, environment: environment);

        var glibc = Train("glibc/model.zip", null);
        var preloaded = Train("tcmalloc/model.zip", new Dictionary<string, string> { ["LD_PRELOAD"] = Tcmalloc });

        Assert.True(glibc.Exit == 0, glibc.Output);
        Assert.Contains("ReuseNativeMemory: while the epochs run, glibc's malloc keeps the memory a training step frees", glibc.Output);
        Assert.Contains("device cpu, seed 1", glibc.Output);
        // --verbose adds the trainer's log, not a second copy of the epoch lines the display prints.
        Assert.Single(glibc.Output.Split('\n'), line => line.StartsWith("epoch 1: train loss", StringComparison.Ordinal));
        Assert.True(preloaded.Exit == 0, preloaded.Output);
        Assert.Contains("ReuseNativeMemory changes nothing: this process's malloc is not glibc's", preloaded.Output);
        Assert.DoesNotContain("glibc keeps", preloaded.Output);
        Assert.True(File.Exists(folder.File("tcmalloc/model.zip")), preloaded.Output);
    }
}
