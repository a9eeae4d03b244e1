using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.MLNet.WebService;

/// <summary>The input of a prediction engine: the uploaded file's bytes, under the classifier's image column name.</summary>
public sealed class UploadedImage
{
    public byte[] Image { get; set; } = Array.Empty<byte>();
}

/// <summary>The input of a saved chain that starts from a path (LoadImages): the uploaded file, written to a temporary file.</summary>
public sealed class UploadedFile
{
    public string Path { get; set; } = "";
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
    private readonly ObjectPool<Func<byte[], float[]>> engines;
    // The chain from the image loader up to (not including) the classifier, and the loader's path column: what makes an
    // upload the image the classifier sees, for /explain. Null when the classifier decodes the bytes itself.
    private readonly (ITransformer Preprocessing, string PathColumn)? toClassifierInput;
    private int users = 1; // the holder's own reference, released when the model is replaced
    private bool released;

    private ServedModel(string path, ITransformer pipeline, DataViewSchema inputSchema, EfficientNetTransformer classifier, int version)
    {
        Path = path;
        this.pipeline = pipeline;
        Classifier = classifier;
        Version = version;
        LoadedAt = DateTimeOffset.UtcNow;
        var (scoring, loader, pathColumn) = ScoringChain(pipeline, inputSchema, classifier);
        if (loader is not null && scoring is TransformerChain<ITransformer> chain && chain.Count() > 1)
            toClassifierInput = (new TransformerChain<ITransformer>(chain.Take(chain.Count() - 1).ToArray()), pathColumn);
        Preprocessing = loader is null ? "the upload's bytes, straight to the classifier" : $"the saved pipeline from {loader.GetType().Name} to the classifier";
        var ml = new MLContext();
        var output = SchemaDefinition.Create(typeof(ImageScores));
        output[nameof(ImageScores.Score)].ColumnName = classifier.ScoreColumnName;
        Func<Func<byte[], float[]>> create;
        if (loader is null)
        {
            var input = SchemaDefinition.Create(typeof(UploadedImage));
            input[nameof(UploadedImage.Image)].ColumnName = classifier.FeatureColumnName;
            var options = new PredictionEngineOptions { OwnsTransformer = false, InputSchemaDefinition = input, OutputSchemaDefinition = output };
            create = () =>
            {
                var engine = ml.Model.CreatePredictionEngine<UploadedImage, ImageScores>(scoring, options);
                return image => engine.Predict(new UploadedImage { Image = image }).Score;
            };
        }
        else
        {
            // The chain starts from a path, as ML.NET's samples write pipelines (LoadImages -> ResizeImages -> the trainer): the
            // upload goes through exactly what the model was trained behind (LoadImages' decoding, ResizeImages' crop or pad).
            var input = SchemaDefinition.Create(typeof(UploadedFile));
            input[nameof(UploadedFile.Path)].ColumnName = pathColumn;
            var options = new PredictionEngineOptions { OwnsTransformer = false, InputSchemaDefinition = input, OutputSchemaDefinition = output };
            create = () =>
            {
                var engine = ml.Model.CreatePredictionEngine<UploadedFile, ImageScores>(scoring, options);
                return image => AsTemporaryFile(image, file => engine.Predict(new UploadedFile { Path = file }).Score);
            };
        }
        engines = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }.Create(new EnginePolicy(create));
    }

    /// <summary>
    /// What scores an upload: the saved chain from its last image loader (LoadImages or LoadRawImageBytes) before the
    /// classifier up to the classifier, so that every transform between them runs as it did in training; or the classifier
    /// alone when the chain has no loader (the classifier then decodes the bytes itself).
    /// </summary>
    static (ITransformer Scoring, ImageLoadingTransformer? Loader, string PathColumn) ScoringChain(ITransformer pipeline, DataViewSchema inputSchema, EfficientNetTransformer classifier)
    {
        var chain = (pipeline as IEnumerable<ITransformer>)?.ToList() ?? [pipeline];
        var classifierAt = chain.IndexOf(classifier);
        var loaderAt = classifierAt < 0 ? -1 : chain.FindLastIndex(classifierAt, t => t is ImageLoadingTransformer);
        if (loaderAt < 0)
            return (classifier, null, "");
        var loader = (ImageLoadingTransformer)chain[loaderAt];
        // The path column the loader reads: what its new image (or bytes) column depends on, by ML.NET's own account.
        var schema = chain.Take(loaderAt).Aggregate(inputSchema, (current, transformer) => transformer.GetOutputSchema(current));
        var mapper = ((ITransformer)loader).GetRowToRowMapper(schema);
        var images = mapper.OutputSchema.Where(c => c.Index >= schema.Count);
        var paths = mapper.GetDependencies(images).Where(c => c.Type is TextDataViewType).Select(c => c.Name).ToList();
        if (paths.Count == 0)
            return (classifier, null, ""); // not a loader of paths: the classifier decodes the bytes itself
        return (new TransformerChain<ITransformer>(chain.Skip(loaderAt).Take(classifierAt - loaderAt + 1).ToArray()), loader, paths[0]);
    }

    /// <summary>What the service applies to an upload before the network, for /health.</summary>
    public string Preprocessing { get; }

    public string Path { get; }
    public EfficientNetTransformer Classifier { get; }
    public int Version { get; }
    public DateTimeOffset LoadedAt { get; }

    /// <summary>Loads a zip written by `efficientnet train` or by an ML.NET pipeline with the EfficientNet trainer, and warms it up.</summary>
    /// <exception cref="ModelFileException">The file is missing, damaged, or no EfficientNet model.</exception>
    public static ServedModel Load(string path, int version)
    {
        var pipeline = new MLContext().Model.LoadEfficientNetModel(path, out var inputSchema);
        try
        {
            var classifier = (pipeline as IEnumerable<ITransformer>)?.OfType<EfficientNetTransformer>().LastOrDefault() ?? pipeline as EfficientNetTransformer
                ?? throw new ModelFileException(path, "it holds no EfficientNet classifier");
            classifier.WarmUp();
            return new ServedModel(path, pipeline, inputSchema, classifier, version);
        }
        catch
        {
            // A model that loads but does not warm up or has no scoring chain: its engine and network are freed now.
            (pipeline as IDisposable)?.Dispose();
            throw;
        }
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
        (pipeline as IDisposable)?.Dispose(); // a TransformerChain disposes its transformers
        Classifier.Dispose();
    }

    /// <summary>The class probabilities of one encoded image, on a pooled engine.</summary>
    public float[] Score(byte[] image)
    {
        var engine = engines.Get();
        try
        {
            return engine(image);
        }
        finally
        {
            engines.Return(engine);
        }
    }

    /// <summary>
    /// Grad-CAM of an upload, on the image the classifier sees when it scores it: through the saved chain's own
    /// preprocessing (LoadImages, ResizeImages' crop or pad) when it has one, else from the bytes (stretched, as scoring).
    /// </summary>
    /// <exception cref="ArgumentException">The class is not the model's, or the upload cannot be read.</exception>
    public Explanations.GradCamExplanation Explain(byte[] image, string? className)
    {
        if (toClassifierInput is not { } chainToInput)
            return Explanations.GradCam.Explain(Classifier, image, className);
        return AsTemporaryFile(image, file =>
        {
            var ml = new MLContext();
            var input = SchemaDefinition.Create(typeof(UploadedFile));
            input[nameof(UploadedFile.Path)].ColumnName = chainToInput.PathColumn;
            var row = ml.Data.LoadFromEnumerable(new[] { new UploadedFile { Path = file } }, input);
            var prepared = chainToInput.Preprocessing.Transform(row);
            var column = prepared.Schema.GetColumnOrNull(Classifier.FeatureColumnName);
            if (column?.Type is not ImageDataViewType)
                return Explanations.GradCam.Explain(Classifier, image, className); // pixels or bytes: the classifier's own path
            using var cursor = prepared.GetRowCursor(new[] { column.Value });
            var getter = cursor.GetGetter<MLImage>(column.Value);
            cursor.MoveNext();
            MLImage seen = null!;
            getter(ref seen);
            return Explanations.GradCam.Explain(Classifier, seen, className);
        });
    }

    // The saved chain starts from a path: the upload is written to a temporary file for it, deleted afterwards.
    static T AsTemporaryFile<T>(byte[] image, Func<string, T> use)
    {
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"efficientnet-upload-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(file, image);
            return use(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    sealed class EnginePolicy(Func<Func<byte[], float[]>> create) : IPooledObjectPolicy<Func<byte[], float[]>>
    {
        public Func<byte[], float[]> Create() => create();
        public bool Return(Func<byte[], float[]> engine) => true;
    }
}
