using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli;

/// <summary>A model zip written by <c>train</c>: the pipeline and its class names.</summary>
internal sealed record ModelFile(ITransformer Model, IReadOnlyList<string> Classes)
{
    public static ModelFile Load(MLContext ml, string path, ScoringEngine engine = ScoringEngine.Auto, TestTimeAugmentation views = TestTimeAugmentation.None)
    {
        if (!File.Exists(path))
            throw new CliInputException($"The model '{path}' does not exist. Train one with 'efficientnet train --data <folder> --output {path}'.");
        ITransformer model;
        try
        {
            model = ml.Model.LoadEfficientNetModel(path, out _);
        }
        catch (MLNet.ModelFileException e)
        {
            throw new CliInputException($"{e.Message} Is it a file written by 'efficientnet train'?");
        }
        foreach (var classifier in (model as IEnumerable<ITransformer>)?.OfType<EfficientNetTransformer>() ?? Enumerable.Empty<EfficientNetTransformer>())
        {
            classifier.ScoringEngine = engine;
            classifier.TestTimeAugmentation = views;
        }
        var probe = model.GetOutputSchema(Schema(ml));
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        probe["Score"].GetSlotNames(ref slotNames);
        return new ModelFile(model, slotNames.DenseValues().Select(v => v.ToString()).ToList());
    }

    /// <summary>The trained classifier in the pipeline.</summary>
    public EfficientNetTransformer Classifier => ((Model as IEnumerable<ITransformer>)?.OfType<EfficientNetTransformer>().FirstOrDefault() ?? Model as EfficientNetTransformer)
        ?? throw new CliInputException("The model has no EfficientNet classifier. Is it a file written by 'efficientnet train'?");

    static DataViewSchema Schema(MLContext ml) => ml.Data.LoadFromEnumerable(Array.Empty<Datasets.LabeledImage>()).Schema;
}
