using EfficientNet.MLNet.Datasets;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Cli;

/// <summary>One image file's result: its probabilities, or why it was skipped.</summary>
internal sealed record ScoredFile(string Path, string Label, float[]? Scores, string? Problem);

/// <summary>
/// Scores image files through a saved model a batch at a time, yielding each file's result as its batch is scored
/// (so results are written as they go, and memory does not grow with the list). Unreadable files stop the run with
/// their path, or, when skipping, are yielded with the reason (a whole decode per file finds them first).
/// </summary>
internal static class ChunkedScoring
{
    public static IEnumerable<ScoredFile> Score(MLContext ml, ModelFile model, IReadOnlyList<LabeledImage> files, bool skipUnreadable)
    {
        var chunk = model.Classifier.InferenceBatchSize;
        for (var start = 0; start < files.Count; start += chunk)
        {
            var part = files.Skip(start).Take(chunk).ToList();
            var problems = part.Select(f => skipUnreadable ? ImageCheck.DecodeProblem(f.ImagePath) : null).ToList();
            if (!skipUnreadable)
                ImageCheck.RequireReadable(part.Select(f => f.ImagePath));
            var readable = part.Where((_, i) => problems[i] is null).ToList();
            List<float[]> scores;
            try
            {
                scores = readable.Count == 0 ? new()
                    : model.Model.Transform(ml.Data.LoadFromEnumerable(readable)).GetColumn<float[]>("Score").ToList();
            }
            catch (ImageRowException e) when (e.Row >= 0 && e.Row < readable.Count)
            {
                throw new CliInputException($"The image '{readable[(int)e.Row].ImagePath}' could not be read: {e.Problem}. Replace or remove it, or pass --skip-unreadable.");
            }
            var next = 0;
            for (var i = 0; i < part.Count; i++)
                yield return problems[i] is { } problem
                    ? new ScoredFile(part[i].ImagePath, part[i].Label, null, problem)
                    : new ScoredFile(part[i].ImagePath, part[i].Label, scores[next++], null);
        }
    }
}
