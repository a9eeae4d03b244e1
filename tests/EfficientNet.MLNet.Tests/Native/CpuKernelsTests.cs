using System.Text.Json;
using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Native;
using EfficientNet.MLNet.Tests.Cli;

namespace EfficientNet.MLNet.Tests.Native;

/// <summary>
/// The CPU kernel check: this process's float32 kernels agree with float64; a kernel made wrong on purpose (the fault
/// hook scales one operation's float32 result by 1.25, as the wrong oneDNN kernels on an AMD EPYC Zen 5 did) is found,
/// the next configuration is chosen in a child process, applied, remembered, and said in Fit's log and by the CLI; and
/// a CPU where every configuration is wrong is refused with a message that names it. The CLI runs in child processes,
/// each with a cache folder of its own, since a process decides its kernels once.
/// </summary>
public class CpuKernelsTests
{
    [Fact]
    public void This_processes_float32_kernels_agree_with_float64_and_the_report_names_the_CPU()
    {
        var report = CpuKernels.Check();

        Assert.True(report.Right, report.Summary);
        Assert.True(report.LargestRelativeError < KernelProbe.OperationTolerance, report.Summary);
        Assert.True(report.Comparisons >= 100, report.Summary);
        Assert.Contains(CpuDescription.Current.ModelName, report.Summary);
        Assert.Same(report, CpuKernels.Check());
    }

    [Fact]
    public void The_probe_covers_every_kind_of_layer_in_both_layouts_and_a_whole_network()
    {
        var findings = KernelProbe.Run("test", wholeNetwork: true);

        Assert.All(findings, f => Assert.False(f.Wrong, $"{f.Operation}: {f.RelativeError}"));
        var names = findings.Select(f => f.Operation).ToList();
        foreach (var expected in new[]
                 {
                     "conv 3x3 24->48 32x32 NCHW: forward", "conv 3x3 24->48 64x64 NCHW: inference", "conv 1x1 320->1280 7x7 channels-last: forward",
                     "depthwise 5x5 240->240 14x14 channels-last: gradient of input 1", "grouped 3x3 (4 groups) 32->64 16x16 NCHW: gradient of input 0",
                     "batch norm (training) channels-last: gradient of input 1", "batch norm (eval): forward", "linear 1280->10: gradient of input 0",
                     "SiLU, sigmoid, pooling, squeeze-excitation product NCHW: forward",
                     "conv 1x1 with bias 320->1280 7x7 channels-last: inference mode", "depthwise 5x5 with bias 240->240 14x14 NCHW: gradient of input 2",
                     "EfficientNet-b0 at 64x64 NCHW: eval logits", "EfficientNet-b0 at 64x64 channels-last: gradient of the stem's weights",
                 })
            Assert.Contains(expected, names);
    }

    [Fact]
    public void A_wrong_kernel_under_libtorchs_own_configuration_is_turned_down_and_Fit_trains_with_the_AVX2_cap()
    {
        Assert.SkipUnless(KernelConfiguration.Ladder.Count > 1, "the AVX2 caps exist on x86-64 only");
        using var folder = new FixturePaths.TemporaryFolder();
        SyntheticShapes.Write(folder.File("data"), 4, size: 32, seed: 5);
        var environment = new Dictionary<string, string>
        {
            [KernelProbe.FaultVariable] = "conv 3x3 24->48 32x32 NCHW@libtorch",
            ["EFFICIENTNET_CACHE"] = folder.File("cache"),
        };

        var train = CliProcess.Run(["train", "--data", folder.File("data"), "--epochs", "1", "--resolution", "32", "--validation-fraction", "0",
            "--verbose", "--output", folder.File("model.zip")], environment: environment);
        var again = CliProcess.Run(["check-cpu", "--json"], environment: environment);

        Assert.True(train.Exit == 0, train.Output);
        Assert.True(File.Exists(folder.File("model.zip")), train.Output);
        // Fit's log (train --verbose prints it) says which CPU, which operation, and what was chosen.
        Assert.Contains($"CPU kernels on {CpuDescription.Current.ModelName}", train.Output);
        Assert.Contains("libtorch's own kernels were wrong here (conv 3x3 24->48 32x32 NCHW: inference off by 2.5e-1", train.Output);
        Assert.Contains("using oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2; oneDNN: Intel AVX2), checked in a child process", train.Output);
        Assert.Contains("float32 against float64 on ", train.Output);
        Assert.Contains("note: CPU kernels on", train.Output); // the CLI says it once more, without --verbose too
        // The next process takes the remembered verdict, applies it, and confirms it in-process.
        Assert.True(again.Exit == 0, again.Output);
        using var json = JsonDocument.Parse(again.Output[..(again.Output.LastIndexOf('}') + 1)]);
        Assert.Equal("avx2", json.RootElement.GetProperty("configuration").GetString());
        Assert.StartsWith("remembered from the check of", json.RootElement.GetProperty("decision").GetString());
        Assert.True(json.RootElement.GetProperty("right").GetBoolean());
        Assert.Equal("libtorch", json.RootElement.GetProperty("rejected")[0].GetProperty("configuration").GetString());
    }

    [Fact]
    public void Kernels_wrong_in_every_configuration_are_refused_with_the_CPU_and_what_to_do()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var environment = new Dictionary<string, string>
        {
            [KernelProbe.FaultVariable] = "conv 1x1 320->1280 7x7 channels-last",
            ["EFFICIENTNET_CACHE"] = folder.File("cache"),
        };

        var check = CliProcess.Run(["check-cpu"], environment: environment);
        var summary = CliProcess.Run(["summary", "b0"], environment: environment);

        Assert.Equal(1, check.Exit);
        Assert.Contains($"libtorch's float32 kernels are wrong on this CPU, {CpuDescription.Current.ModelName}", check.Output);
        Assert.Contains("conv 1x1 320->1280 7x7 channels-last: inference off by 2.5e-1", check.Output);
        Assert.Contains("ScoringEngine.OnnxRuntime", check.Output);
        Assert.Contains("EFFICIENTNET_CPU_KERNELS=libtorch", check.Output);
        Assert.Equal(1, summary.Exit); // building a model is refused too: nothing computes with wrong kernels
        Assert.Contains("libtorch's float32 kernels are wrong on this CPU", summary.Output);
    }

    [Fact]
    public void A_forced_choice_is_applied_without_trying_others_and_reported_as_forced()
    {
        Assert.SkipUnless(KernelConfiguration.Ladder.Count > 1, "the AVX2 caps exist on x86-64 only");
        using var folder = new FixturePaths.TemporaryFolder();
        var environment = new Dictionary<string, string>
        {
            [KernelProbe.FaultVariable] = "conv 3x3 24->48 32x32 NCHW@avx2",
            ["EFFICIENTNET_CACHE"] = folder.File("cache"),
        };

        var forced = CliProcess.Run(["check-cpu", "--json", "--cpu-kernels", "avx2"], environment: environment);
        var byVariable = CliProcess.Run(["check-cpu", "--json"], environment: new Dictionary<string, string>(environment) { [CpuKernels.ChoiceVariable] = "libtorch" });

        // Forced means forced: the wrong result is reported (exit 1), not switched away from and not refused.
        Assert.Equal(1, forced.Exit);
        Assert.Contains("\"configuration\": \"avx2\"", forced.Output);
        Assert.Contains("\"variables\": \"ONEDNN_MAX_CPU_ISA=AVX2\"", forced.Output);
        Assert.Contains("chosen by EFFICIENTNET_CPU_KERNELS", forced.Output);
        Assert.Contains("conv 3x3 24-\\u003E48 32x32 NCHW: forward off by 2.5e-1", forced.Output);
        Assert.Equal(0, byVariable.Exit);
        Assert.Contains("\"configuration\": \"libtorch\"", byVariable.Output);
        Assert.False(Directory.Exists(folder.File("cache/cpu-kernels")), "a forced choice is not remembered as a verdict");
    }

    [Fact]
    public void Cpuinfo_of_an_AMD_EPYC_Zen_5_and_of_an_Arm_server_are_read_as_lscpu_shows_them()
    {
        var zen5 = CpuDescription.Parse("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC 9R45\nstepping\t: 1\n" +
                                        "flags\t\t: fpu sse avx avx2 fma avx512f avx512_bf16 avx512_vp2intersect\n\nprocessor\t: 1\nmodel name\t: other\n")!;
        var arm = CpuDescription.Parse("processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm sve\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd40\nCPU revision\t: 1\n")!;

        Assert.Equal(("AMD EPYC 9R45", "AuthenticAMD", 26, 2, 1), (zen5.ModelName, zen5.Vendor, zen5.Family, zen5.Model, zen5.Stepping));
        Assert.Equal(["avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vp2intersect"], zen5.VectorExtensions);
        Assert.Equal("AMD EPYC 9R45 (AuthenticAMD, family 26, model 2, stepping 1; avx avx2 fma avx512f avx512_bf16 avx512_vp2intersect)", zen5.ToString());
        Assert.Equal((8, 0xd40, 1), (arm.Family, arm.Model, arm.Stepping));
        Assert.Equal(["asimd", "sve"], arm.VectorExtensions);
        Assert.NotEqual(zen5.Signature, (zen5 with { Stepping = 2 }).Signature);
    }
}
