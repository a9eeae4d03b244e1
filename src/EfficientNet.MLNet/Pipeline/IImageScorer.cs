using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// A transformer that reads one image column and adds columns computed from a vector per image: the classifier (Score
/// and PredictedLabel from probabilities) and the featurizer (the features). <see cref="ScoredDataView"/> and
/// <see cref="ScoringRowMapper"/> batch, decode and pass columns through for either.
/// </summary>
internal interface IImageScorer
{
    /// <summary>The image column.</summary>
    string FeatureColumnName { get; }

    /// <summary>The square size images are resized to.</summary>
    int ImageSize { get; }

    /// <summary>Images per forward pass.</summary>
    int InferenceBatchSize { get; }

    /// <summary>The input's columns, then the added ones.</summary>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>One vector per image (planar RGB bytes of <see cref="ImageSize"/>), one forward pass.</summary>
    float[][] Score(IReadOnlyList<byte[]> images);

    /// <summary>The getter of added column <paramref name="output"/> (0: the first after the input's), from the row's vector.</summary>
    Delegate OutputGetter(int output, Func<float[]> vector);
}
