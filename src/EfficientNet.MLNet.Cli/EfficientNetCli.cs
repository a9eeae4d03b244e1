using System.CommandLine;
using EfficientNet.MLNet.Cli.Commands;
using EfficientNet.MLNet.Weights;

namespace EfficientNet.MLNet.Cli;

/// <summary>The <c>efficientnet</c> command. Exit codes: 0 success, 2 bad usage or bad input, 1 any other failure.</summary>
internal static class EfficientNetCli
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("EfficientNet image classification for .NET: train, evaluate and use models on folders of images.")
        {
            TrainCommand.Create(output),
            EvaluateCommand.Create(output),
            PredictCommand.Create(output),
            SummaryCommand.Create(output),
            ExportCommand.Create(output),
            ExplainCommand.Create(output),
            WeightsCommand.Create(output),
            CheckCpuCommand.Create(output),
        };
        var cpuKernels = new Option<string>("--cpu-kernels")
        {
            Description = "libtorch's float32 CPU kernels: auto (checked against float64, with a fallback), libtorch, avx2 or avx2-everywhere; " +
                          $"default: {CpuKernels.ChoiceVariable}, else auto",
            Recursive = true,
        };
        root.Options.Add(cpuKernels);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
                error.WriteLine($"error: {problem.Message}");
            error.WriteLine("Run 'efficientnet --help' (or 'efficientnet <command> --help') for usage.");
            return 2;
        }
        try
        {
            if (parse.GetValue(cpuKernels) is { } kernels)
                CpuKernels.Choice = ParseCpuKernels(kernels);
            var code = parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            // Said once, when libtorch's own kernels were turned down here (train --verbose prints the line in any case).
            if (CpuKernels.Report is { FellBack: true } or { Right: false })
                error.WriteLine($"note: {CpuKernels.Report.Summary}");
            return code;
        }
        catch (Exception e) when (e is CliInputException or WeightsFormatException or WeightsMismatchException or WeightsDownloadException
                                      or WeightsManifestException or DataRowException or ArgumentException)
        {
            // Bad usage or bad input: a file, folder, option or row the message names.
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (EfficientNetException e)
        {
            // A failure of the run itself: a diverging loss, a checkpoint of another run, an unavailable device.
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("Cancelled.");
            return 1;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: {e}");
            return 1;
        }
    }

    static CpuKernelChoice ParseCpuKernels(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => CpuKernelChoice.Auto,
        "libtorch" => CpuKernelChoice.LibTorch,
        "avx2" => CpuKernelChoice.Avx2,
        "avx2-everywhere" => CpuKernelChoice.Avx2Everywhere,
        _ => throw new CliInputException($"--cpu-kernels must be auto, libtorch, avx2 or avx2-everywhere; got '{value}'."),
    };
}
