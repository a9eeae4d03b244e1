using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli;

/// <summary>One image file's result: its probabilities, or why it was skipped.</summary>
internal sealed record ScoredFile(string Path, string Label, float[]? Scores, string? Problem);

/// <summary>
/// Scores image files through a saved model a batch at a time, yielding each file's result as its batch is scored
/// (so results are written as they go, and memory does not grow with the list). Unreadable files stop the run with
/// their path, or, when skipping, are yielded with the reason. Each file is decoded once, by the pipeline: headers are
/// looked at first (missing, empty, not an image), and a file that fails to decode in the pipeline is marked and its
/// batch scored again without it.
/// </summary>
internal static class ChunkedScoring
{
    public static IEnumerable<ScoredFile> Score(MLContext ml, ModelFile model, IReadOnlyList<LabeledImage> files, bool skipUnreadable)
    {
        var chunk = model.Classifier.InferenceBatchSize;
        for (var start = 0; start < files.Count; start += chunk)
        {
            var part = files.Skip(start).Take(chunk).ToList();
            if (!skipUnreadable)
                ImageCheck.RequireReadable(part.Select(f => f.ImagePath));
            var problems = part.Select(f => skipUnreadable ? ImageCheck.HeaderProblem(f.ImagePath) : null).ToArray();
            var scores = ScoreReadable(ml, model, part, problems, skipUnreadable);
            for (var i = 0; i < part.Count; i++)
                yield return new ScoredFile(part[i].ImagePath, part[i].Label, scores[i], problems[i]);
        }
    }

    // The batch's scores by file (null where there is a problem); a file the pipeline cannot decode gets its problem.
    static float[]?[] ScoreReadable(MLContext ml, ModelFile model, List<LabeledImage> part, string?[] problems, bool skipUnreadable)
    {
        while (true)
        {
            var readable = Enumerable.Range(0, part.Count).Where(i => problems[i] is null).ToList();
            var scores = new float[]?[part.Count];
            if (readable.Count == 0)
                return scores;
            try
            {
                var scored = model.Model.Transform(ml.Data.LoadFromEnumerable(readable.Select(i => part[i]))).GetColumn<float[]>("Score").ToList();
                for (var r = 0; r < readable.Count; r++)
                    scores[readable[r]] = scored[r];
                return scores;
            }
            catch (ImageRowException e) when (e.Row >= 0 && e.Row < readable.Count)
            {
                var path = part[readable[(int)e.Row]].ImagePath;
                if (!skipUnreadable)
                    throw new CliInputException($"The image '{path}' could not be read: {e.Problem}. Replace or remove it, or pass --skip-unreadable.");
                problems[readable[(int)e.Row]] = $"The image '{path}' cannot be decoded ({e.Problem}).";
            }
        }
    }
}
