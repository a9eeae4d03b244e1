using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.WebService;

/// <summary>The input of a prediction engine: the uploaded file's bytes, under the classifier's image column name.</summary>
public sealed class UploadedImage
{
    public byte[] Image { get; set; } = Array.Empty<byte>();
}

/// <summary>The output: the class probabilities.</summary>
public sealed class ImageScores
{
    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>
/// One loaded model zip: its classifier and a pool of prediction engines over it (a PredictionEngine serves one thread at
/// a time; ML.NET's PredictionEnginePool lives in Microsoft.Extensions.ML, which the package registry here does not hold,
/// so Microsoft.Extensions.ObjectPool pools them). Counted while requests use it: a replaced model is disposed when its
/// last request ends, so a reload drops no request.
/// </summary>
public sealed class ServedModel
{
    private readonly ITransformer pipeline;
    private readonly ObjectPool<PredictionEngine<UploadedImage, ImageScores>> engines;
    private int users = 1; // the holder's own reference, released when the model is replaced
    private bool released;

    private ServedModel(string path, ITransformer pipeline, EfficientNetTransformer classifier, int version)
    {
        Path = path;
        this.pipeline = pipeline;
        Classifier = classifier;
        Version = version;
        LoadedAt = DateTimeOffset.UtcNow;
        var ml = new MLContext();
        var input = Microsoft.ML.Data.SchemaDefinition.Create(typeof(UploadedImage));
        input[nameof(UploadedImage.Image)].ColumnName = classifier.FeatureColumnName;
        var output = Microsoft.ML.Data.SchemaDefinition.Create(typeof(ImageScores));
        output[nameof(ImageScores.Score)].ColumnName = classifier.ScoreColumnName;
        var options = new PredictionEngineOptions { OwnsTransformer = false, InputSchemaDefinition = input, OutputSchemaDefinition = output };
        engines = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }
            .Create(new EnginePolicy(() => ml.Model.CreatePredictionEngine<UploadedImage, ImageScores>(classifier, options)));
    }

    public string Path { get; }
    public EfficientNetTransformer Classifier { get; }
    public int Version { get; }
    public DateTimeOffset LoadedAt { get; }

    /// <summary>Loads a zip written by `efficientnet train` or by an ML.NET pipeline with the EfficientNet trainer, and warms it up.</summary>
    /// <exception cref="ModelFileException">The file is missing, damaged, or no EfficientNet model.</exception>
    public static ServedModel Load(string path, int version)
    {
        var pipeline = new MLContext().Model.LoadEfficientNetModel(path, out _);
        var classifier = (pipeline as IEnumerable<ITransformer>)?.OfType<EfficientNetTransformer>().LastOrDefault() ?? pipeline as EfficientNetTransformer
            ?? throw new ModelFileException(path, "it holds no EfficientNet classifier");
        classifier.WarmUp();
        return new ServedModel(path, pipeline, classifier, version);
    }

    /// <summary>Takes a use of the model; false when it is already released (replaced and idle).</summary>
    public bool TryAcquire()
    {
        lock (engines)
        {
            if (released) return false;
            users++;
            return true;
        }
    }

    /// <summary>Ends a use; the last one after a replacement disposes the model.</summary>
    public void Release()
    {
        lock (engines)
        {
            if (--users > 0) return;
            released = true;
        }
        (pipeline as IDisposable)?.Dispose();
        Classifier.Dispose();
    }

    /// <summary>The class probabilities of one encoded image, on a pooled engine.</summary>
    public float[] Score(byte[] image)
    {
        var engine = engines.Get();
        try
        {
            return engine.Predict(new UploadedImage { Image = image }).Score;
        }
        finally
        {
            engines.Return(engine);
        }
    }

    sealed class EnginePolicy(Func<PredictionEngine<UploadedImage, ImageScores>> create) : IPooledObjectPolicy<PredictionEngine<UploadedImage, ImageScores>>
    {
        public PredictionEngine<UploadedImage, ImageScores> Create() => create();
        public bool Return(PredictionEngine<UploadedImage, ImageScores> engine) => true;
    }
}
