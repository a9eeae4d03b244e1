using System.CommandLine;
using EfficientNet.MLNet.Training;
using Microsoft.ML;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// The options of the scoring commands that say where and how a saved model scores: --engine, --tta, --device,
/// --threads and --batch-size. What a sharded job sets per process.
/// </summary>
internal sealed class ScoringSettings
{
    private readonly Option<string> engine = EngineOption.Create();
    private readonly Option<string> tta = TestTimeAugmentationOption.Create();
    private readonly Option<string> device = new("--device") { Description = "auto (a CUDA GPU when TorchSharp sees one, else the CPU), cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
    private readonly Option<int?> threads = new("--threads") { Description = "Threads to score with (default: one per core); lower it when several processes share the machine" };
    private readonly Option<int?> batchSize = new("--batch-size") { Description = "Images per forward pass (default: the model's, 32)" };

    public IEnumerable<Option> Options => new Option[] { engine, tta, device, threads, batchSize };

    /// <summary>Whether any setting that only a saved model takes was given.</summary>
    public string? ModelOnlyOptionGiven(ParseResult parse) =>
        TestTimeAugmentationOption.Parse(parse.GetValue(tta)) != TestTimeAugmentation.None ? "--tta"
        : parse.GetValue(threads) is not null ? "--threads"
        : parse.GetValue(batchSize) is not null ? "--batch-size"
        : null;

    public ScoringEngine Engine(ParseResult parse) => EngineOption.Parse(parse.GetValue(engine));

    /// <summary>
    /// An MLContext whose GPU settings put a loaded model on the device asked for (ML.NET's GpuDeviceId and
    /// FallbackToCpu, which the model reads when it is loaded).
    /// </summary>
    public MLContext Context(ParseResult parse)
    {
        var value = Device(parse);
        if (value == "cpu")
            return new MLContext();
        if (value == "auto")
        {
            // Only a GPU changes anything: on a CPU the model stays where ONNX Runtime scores it. Asking libtorch costs
            // about 0.25 s and 120 MB per process, so it is asked only when the CLI carries a CUDA build of it.
            if (!CarriesCudaLibtorch())
                return new MLContext();
            var chosen = DeviceSelection.Choose("auto", null, fallbackToCpu: true, _ => { });
            return chosen.type == TorchSharp.DeviceType.CUDA ? new MLContext { GpuDeviceId = chosen.index, FallbackToCpu = true } : new MLContext();
        }
        var index = value.StartsWith("cuda:", StringComparison.Ordinal) ? int.Parse(value[5..]) : 0;
        return new MLContext { GpuDeviceId = index, FallbackToCpu = false };
    }

    /// <summary>--device, checked: auto, cpu, cuda or cuda:N.</summary>
    public string Device(ParseResult parse)
    {
        var value = (parse.GetValue(device) ?? "auto").Trim().ToLowerInvariant();
        try
        {
            DeviceSelection.Parse(value);
        }
        catch (ArgumentException)
        {
            throw new CliInputException($"--device must be auto, cpu, cuda or cuda:N; got '{value}'.");
        }
        return value;
    }

    static bool CarriesCudaLibtorch() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "*torch_cuda*", SearchOption.AllDirectories).Any();

    /// <summary>Loads the model zip with the engine, views, batch size and threads asked for.</summary>
    public ModelFile Load(ParseResult parse, MLContext ml, string path)
    {
        var loaded = ModelFile.Load(ml, path, Engine(parse), TestTimeAugmentationOption.Parse(parse.GetValue(tta)));
        var classifier = loaded.Classifier;
        if (parse.GetValue(batchSize) is { } batch)
            classifier.InferenceBatchSize = batch >= 1 ? batch : throw new CliInputException($"--batch-size must be at least 1; got {batch}.");
        if (parse.GetValue(threads) is { } count)
        {
            if (count < 1)
                throw new CliInputException($"--threads must be at least 1; got {count}.");
            classifier.ScoringThreads = count;
            if (classifier.ScoringEngineInUse == ScoringEngine.TorchSharp)
                TorchSharp.torch.set_num_threads(count);
        }
        return loaded;
    }
}
