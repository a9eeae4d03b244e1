using EfficientNet.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.MultiLabel;

/// <summary>Reads scored multi-label data (Score vector, true label sets) into <see cref="MultiLabelClassificationMetrics"/>.</summary>
internal static class MultiLabelEvaluation
{
    public static MultiLabelClassificationMetrics Evaluate(IDataView data, string labelColumnName, string scoreColumnName, char separator)
    {
        var score = data.Schema.GetColumnOrNull(scoreColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(scoreColumnName), $"The score column '{scoreColumnName}' is not in the data (columns: {string.Join(", ", data.Schema.Select(c => c.Name))}). Evaluate the model's Transform of the data.");
        if (score.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 1 } vector || vector.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(scoreColumnName), $"The score column '{scoreColumnName}' has type {score.Type}; expected a vector of Single, one probability per label.");
        var names = LabelColumn.AnnotatedNames(score, AnnotationKinds.SlotNames, vector.Size);
        var thresholds = Thresholds(score, vector.Size);
        var truth = LabelSets.Read(data, labelColumnName, names, separator, "the evaluated data");
        var scores = data.GetColumn<float[]>(score.Name).ToList();
        return MultiLabelClassificationMetrics.Compute(scores, truth.Rows, names, thresholds);
    }

    // The model's thresholds, kept on the Score column; 0.5 each for scores without them.
    static float[] Thresholds(DataViewSchema.Column score, int count)
    {
        if (score.Annotations.Schema.GetColumnOrNull(AnnotationKinds.DecisionThresholds) is not { Type: VectorDataViewType { Size: var size } } column || size != count)
            return Enumerable.Repeat(DecisionThresholds.Default, count).ToArray();
        var values = default(VBuffer<float>);
        score.Annotations.GetValue(column.Name, ref values);
        return values.DenseValues().ToArray();
    }
}
