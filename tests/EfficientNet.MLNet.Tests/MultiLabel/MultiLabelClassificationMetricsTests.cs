using System.Globalization;
using System.Text.Json;
using EfficientNet.MLNet.MultiLabel;
using EfficientNet.MLNet.Tests.Network;

namespace EfficientNet.MLNet.Tests.MultiLabel;

/// <summary>
/// The multi-label figures against scikit-learn's own (Debian's python3-sklearn): average_precision_score per label,
/// precision/recall/F1 micro and macro (zero_division=0), hamming_loss and accuracy_score (subset accuracy), on scores
/// with ties, per-label thresholds, a label no row has and a label no row is predicted to have.
/// </summary>
public class MultiLabelClassificationMetricsTests
{
    static (float[][] Scores, bool[][] Truth, string[] Labels, float[] Thresholds) Example()
    {
        var random = new Random(7);
        string[] labels = ["dog", "person", "car", "bicycle", "never present", "never predicted"];
        float[] thresholds = [0.5f, 0.3f, 0.7f, 0.45f, 0.5f, 1.01f];
        var truth = new bool[240][];
        var scores = new float[240][];
        for (var row = 0; row < truth.Length; row++)
        {
            truth[row] = labels.Select((_, label) => label != 4 && random.NextDouble() < 0.15 + 0.1 * label).ToArray();
            // Informative but imperfect scores, rounded to two decimals: many ties.
            scores[row] = truth[row].Select(has => MathF.Round(Math.Clamp((has ? 0.6f : 0.35f) + (float)(random.NextDouble() - 0.5) * 0.7f, 0, 1), 2)).ToArray();
        }
        return (scores, truth, labels, thresholds);
    }

    [Fact]
    public void The_figures_are_scikit_learns()
    {
        Assert.SkipUnless(TorchvisionEquivalenceTests.PythonHas("sklearn"), "needs Debian's python3-sklearn; .ci/run installs it");
        var (scores, truth, labels, thresholds) = Example();
        using var folder = new FixturePaths.TemporaryFolder();
        var input = folder.File("rows.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { scores, truth, thresholds }));

        var metrics = MultiLabelClassificationMetrics.Compute(scores, truth, labels, thresholds);
        var sklearn = JsonDocument.Parse(DebianPython.Run(folder.File("metrics.py"), MetricsScript, input)).RootElement;

        void Same(string name, double ours) => Assert.True(Math.Abs(sklearn.GetProperty(name).GetDouble() - ours) < 1e-12, $"{name}: ours {ours}, scikit-learn's {sklearn.GetProperty(name).GetDouble()}");
        Same("map", metrics.MeanAveragePrecision);
        Same("micro_precision", metrics.MicroPrecision);
        Same("micro_recall", metrics.MicroRecall);
        Same("micro_f1", metrics.MicroF1);
        Same("macro_precision", metrics.MacroPrecision);
        Same("macro_recall", metrics.MacroRecall);
        Same("macro_f1", metrics.MacroF1);
        Same("hamming", metrics.HammingLoss);
        Same("subset_accuracy", metrics.SubsetAccuracy);
        var perLabel = sklearn.GetProperty("per_label").EnumerateArray().ToList();
        for (var label = 0; label < labels.Length; label++)
        {
            var theirs = perLabel[label];
            var ours = metrics.PerLabel[label];
            Assert.Equal(labels[label], ours.Label);
            Assert.Equal(theirs.GetProperty("support").GetInt32(), ours.Support);
            foreach (var (name, value) in new[] { ("precision", ours.Precision), ("recall", ours.Recall), ("f1", ours.F1) })
                Assert.True(Math.Abs(theirs.GetProperty(name).GetDouble() - value) < 1e-12, $"{labels[label]} {name}: ours {value}, scikit-learn's {theirs.GetProperty(name)}");
            if (ours.Support == 0)
                Assert.True(double.IsNaN(ours.AveragePrecision), "a label no row has has no average precision, and is left out of the mean");
            else
                Assert.True(Math.Abs(theirs.GetProperty("ap").GetDouble() - ours.AveragePrecision) < 1e-12, $"{labels[label]} AP: ours {ours.AveragePrecision}, scikit-learn's {theirs.GetProperty("ap")}");
        }
        // The premise: the example exercises what differs between definitions.
        Assert.Contains(metrics.PerLabel, l => l.Support == 0);
        Assert.Contains(metrics.PerLabel, l => l.Support > 0 && l.Precision == 0 && l.Recall == 0);
        Assert.True(scores.SelectMany(s => s).GroupBy(v => v).Any(g => g.Count() > 10), "no ties in the scores");
    }

    [Fact]
    public void Rows_and_labels_that_do_not_line_up_are_refused_with_what_was_expected()
    {
        var refused = Assert.Throws<ArgumentException>(() => MultiLabelClassificationMetrics.Compute([[0.5f, 0.5f]], [[true]], ["a", "b"], [0.5f, 0.5f]));
        Assert.Contains("Row 0 has 2 scores and 1 label flags; expected 2 of each", refused.Message);
        Assert.Throws<ArgumentException>(() => MultiLabelClassificationMetrics.Compute([], [], ["a"], [0.5f]));
    }

    const string MetricsScript = """
            import json, sys
            import numpy as np
            from sklearn.metrics import average_precision_score, precision_recall_fscore_support, hamming_loss, accuracy_score
            rows = json.load(open(sys.argv[1]))
            scores, truth, thresholds = np.array(rows["scores"]), np.array(rows["truth"]).astype(int), np.array(rows["thresholds"])
            predicted = (scores >= thresholds).astype(int)
            out = {}
            for average in ("micro", "macro"):
                p, r, f, _ = precision_recall_fscore_support(truth, predicted, average=average, zero_division=0)
                out[f"{average}_precision"], out[f"{average}_recall"], out[f"{average}_f1"] = p, r, f
            p, r, f, support = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
            aps = [average_precision_score(truth[:, k], scores[:, k]) if truth[:, k].any() else None for k in range(truth.shape[1])]
            out["per_label"] = [{"precision": p[k], "recall": r[k], "f1": f[k], "support": int(support[k]), "ap": aps[k]} for k in range(truth.shape[1])]
            out["map"] = float(np.mean([a for a in aps if a is not None]))
            out["hamming"] = hamming_loss(truth, predicted)
            out["subset_accuracy"] = accuracy_score(truth, predicted)
            print(json.dumps(out, default=float))
            """;
}
