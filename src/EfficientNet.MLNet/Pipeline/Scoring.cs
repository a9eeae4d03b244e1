using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>The getters of the two output columns, from a row's probabilities.</summary>
internal static class Scoring
{
    public static ValueGetter<VBuffer<float>> ScoreGetter(Func<float[]> probabilities) =>
        (ref VBuffer<float> value) =>
        {
            var p = probabilities();
            var editor = VBufferEditor.Create(ref value, p.Length);
            p.CopyTo(editor.Values);
            value = editor.Commit();
        };

    /// <summary>The key (1-based) of the most probable class.</summary>
    public static ValueGetter<uint> PredictedLabelGetter(Func<float[]> probabilities) =>
        (ref uint value) => value = (uint)MostProbable(probabilities()) + 1;

    /// <summary>The index of the most probable class (the first on a tie): a multiclass model's decision at every door.</summary>
    public static int MostProbable(float[] probabilities)
    {
        var best = 0;
        for (var i = 1; i < probabilities.Length; i++)
            if (probabilities[i] > probabilities[best]) best = i;
        return best;
    }

    /// <summary>The labels (0-based, ascending) whose probability is at least the label's threshold; possibly none. The one decision rule of every door.</summary>
    public static int[] Decide(float[] probabilities, float[] thresholds) =>
        Enumerable.Range(0, probabilities.Length).Where(i => probabilities[i] >= thresholds[i]).ToArray();

    /// <summary>The keys (1-based, ascending) of the labels <see cref="Decide"/> gives at <paramref name="thresholds"/> (one set for the getter's life).</summary>
    public static ValueGetter<VBuffer<uint>> PredictedLabelsGetter(Func<float[]> probabilities, float[] thresholds) =>
        (ref VBuffer<uint> value) =>
        {
            var labels = Decide(probabilities(), thresholds);
            var editor = VBufferEditor.Create(ref value, labels.Length);
            for (var i = 0; i < labels.Length; i++)
                editor.Values[i] = (uint)labels[i] + 1;
            value = editor.Commit();
        };
}
