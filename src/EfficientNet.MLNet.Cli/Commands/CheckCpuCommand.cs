using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace EfficientNet.MLNet.Cli.Commands;

/// <summary>
/// <c>efficientnet check-cpu [--json]</c>: which processor this is, which float32 kernels libtorch uses here and why,
/// and whether they agree with float64 (see <see cref="CpuKernels"/>). Exit 0 when they are right, 1 when not.
/// </summary>
internal static class CheckCpuCommand
{
    public static Command Create(TextWriter output)
    {
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("check-cpu", "Check libtorch's float32 CPU kernels against float64 on this CPU and show what is in use") { json };
        command.SetAction(parse =>
        {
            var report = CpuKernels.Check();
            if (parse.GetValue(json))
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    cpu = report.Cpu.ModelName,
                    vendor = report.Cpu.Vendor,
                    family = report.Cpu.Family,
                    model = report.Cpu.Model,
                    stepping = report.Cpu.Stepping,
                    extensions = report.Cpu.VectorExtensions,
                    configuration = report.Configuration,
                    variables = report.Variables,
                    decision = report.Decision,
                    oneDnnIsa = report.OneDnnIsa,
                    rejected = report.Rejected.Select(r => new { configuration = r.Configuration, wrong = r.Wrong }),
                    comparisons = report.Comparisons,
                    largestRelativeError = report.LargestRelativeError,
                    right = report.Right,
                    wrong = report.Wrong,
                    seconds = report.Duration.TotalSeconds,
                }, new JsonSerializerOptions { WriteIndented = true }));
            else
            {
                output.WriteLine($"CPU:            {report.Cpu}");
                output.WriteLine($"kernels:        {report.Configuration} ({report.Variables}), {report.Decision}");
                output.WriteLine($"oneDNN:         {report.OneDnnIsa ?? "(reported by the checking process only; run with a fresh EFFICIENTNET_CACHE to see it)"}");
                foreach (var (configuration, wrong) in report.Rejected)
                    output.WriteLine($"turned down:    {configuration}: {string.Join("; ", wrong)}");
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"float32 check:  {(report.Right ? "right" : "WRONG: " + string.Join("; ", report.Wrong))} ({report.Comparisons} results against float64, largest relative error {report.LargestRelativeError:0.0e0}, {report.Duration.TotalSeconds:0.00} s)"));
            }
            return report.Right ? 0 : 1;
        });
        return command;
    }
}
