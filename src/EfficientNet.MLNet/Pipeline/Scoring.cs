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
        (ref uint value) =>
        {
            var p = probabilities();
            var best = 0;
            for (var i = 1; i < p.Length; i++)
                if (p[i] > p[best]) best = i;
            value = (uint)best + 1;
        };
}
