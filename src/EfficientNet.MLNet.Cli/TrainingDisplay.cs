using System.Globalization;
using Spectre.Console;

namespace EfficientNet.MLNet.Cli;

/// <summary>
/// How train shows progress: a live bar (epoch, loss, accuracy, time left) on an interactive terminal, and the
/// plain per-epoch lines when the output is redirected or captured (Spectre prints nothing useful there).
/// </summary>
internal static class TrainingDisplay
{
    public static T Run<T>(TextWriter output, Func<Action<TrainingProgress>?, Action<EpochMetrics>, T> fit)
    {
        var live = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!live)
            return fit(null, epoch => output.WriteLine(epoch));

        return AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("reading images", maxValue: 1.0);
                return fit(progress =>
                {
                    task.Value = progress.Fraction;
                    var remaining = progress.Remaining is { } left ? left.ToString(left.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture) : "?";
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {progress.Epoch}/{progress.Epochs}  loss {progress.Loss:0.000}  accuracy {progress.Accuracy:P0}  ETA {remaining}");
                }, epoch => AnsiConsole.WriteLine(epoch.ToString()));
            });
    }
}
