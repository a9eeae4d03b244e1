using EfficientNet.MLNet;
using EfficientNet.MLNet.Pipeline;

namespace Microsoft.ML;

/// <summary>Adds <c>LoadEfficientNetModel</c> to <c>mlContext.Model</c>: ML.NET's Load with errors that say what is wrong.</summary>
public static class EfficientNetModelLoading
{
    /// <summary>
    /// Loads a model zip like <c>mlContext.Model.Load</c>, but every failure is a <see cref="ModelFileException"/>
    /// naming the file and the problem (ML.NET's own loader throws its own exception types for a damaged zip, and
    /// wraps ours). Any ML.NET model loads; EfficientNet parts are checked before anything is allocated.
    /// </summary>
    /// <param name="catalog">mlContext.Model.</param>
    /// <param name="path">The model zip.</param>
    /// <param name="inputSchema">The schema the model was saved with.</param>
    /// <exception cref="ModelFileException">The file is missing, damaged, from a newer version, or its weights do not match.</exception>
    public static ITransformer LoadEfficientNetModel(this ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new ModelFileException(path, "the file does not exist. Check the path, or train and save a model first.");
        try
        {
            return catalog.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var causes = ExceptionCauses.Of(e).ToList();
            throw causes.OfType<EfficientNetException>().FirstOrDefault() is { } ours
                ? new ModelFileException(path, ours.Message, e)
                : new ModelFileException(path, $"it is not a readable ML.NET model zip ({causes[^1].GetType().Name}: {causes[^1].Message}). It is damaged or not a model file: save the model again, or use a backup.", e);
        }
    }
}
