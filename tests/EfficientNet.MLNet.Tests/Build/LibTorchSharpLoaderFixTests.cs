using EfficientNet.MLNet.Build;

namespace EfficientNet.MLNet.Tests.Build;

/// <summary>The build-time fix that lets TorchSharp 0.107 load on Debian 12 / Ubuntu 22.04 (see LibTorchSharpLoaderFix.cs).</summary>
public class LibTorchSharpLoaderFixTests
{
    const string MissingVersion = "GLIBCXX_3.4.32";
    const ushort Weak = 0x2;

    static string PackagedLibrary => Path.Combine(FixturePaths.Metadata("NuGetPackageRoot"), "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    static string OutputLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void The_packaged_library_needs_GLIBCXX_3_4_32_only_for_the_iostream_marker()
    {
        var elf = File.ReadAllBytes(PackagedLibrary);

        var need = GlibcxxRequirementWeakener.ReadVersionNeeds(elf).Single(n => n.Version == MissingVersion);

        Assert.Equal("libstdc++.so.6", need.Library);
        Assert.Equal(0, need.Flags & Weak);
        Assert.Equal(new[] { GlibcxxRequirementWeakener.IostreamMarkerSymbol }, GlibcxxRequirementWeakener.SymbolsBoundTo(elf, need.Index));
    }

    [Fact]
    public void Patching_sets_one_weak_flag_and_nothing_else_whatever_the_build_machine_has()
    {
        var original = File.ReadAllBytes(PackagedLibrary);
        var elf = (byte[])original.Clone();

        var weakened = GlibcxxRequirementWeakener.Patch(elf);

        Assert.Equal(new[] { MissingVersion }, weakened);
        var changed = Enumerable.Range(0, elf.Length).Where(i => elf[i] != original[i]).ToList();
        Assert.Single(changed);
        var need = GlibcxxRequirementWeakener.ReadVersionNeeds(elf).Single(n => n.Version == MissingVersion);
        Assert.Equal(need.FlagsOffset, changed[0]);
        Assert.Equal(Weak, need.Flags & Weak);
        Assert.Empty(GlibcxxRequirementWeakener.Patch(elf)); // idempotent
    }

    [Fact]
    public void Needs_of_real_symbols_are_never_weakened()
    {
        var elf = File.ReadAllBytes(PackagedLibrary);

        GlibcxxRequirementWeakener.Patch(elf);

        var needs = GlibcxxRequirementWeakener.ReadVersionNeeds(elf).Where(n => n.Library.StartsWith("libstdc++", StringComparison.Ordinal)).ToList();
        Assert.True(needs.Count > 5, $"{needs.Count} libstdc++ version needs");
        Assert.All(needs.Where(n => n.Version != MissingVersion), n => Assert.Equal(0, n.Flags & Weak));
        Assert.NotEmpty(GlibcxxRequirementWeakener.SymbolsBoundTo(elf, needs.Single(n => n.Version == "GLIBCXX_3.4.21").Index));
    }

    [Fact]
    public void The_build_patched_its_own_output_copy_and_not_the_package_cache()
    {
        var output = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(OutputLibrary)).Single(n => n.Version == MissingVersion);
        var packaged = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(PackagedLibrary)).Single(n => n.Version == MissingVersion);

        Assert.Equal(Weak, output.Flags & Weak);
        Assert.Equal(0, packaged.Flags & Weak);
    }

    public static TheoryData<string, bool> Targets() => new()
    {
        { "", true },           // a portable build: may run on Linux
        { "linux-x64", true },  // e.g. published for a Debian 12 image from Windows or a newer SDK image
        { "win-x64", false },
        { "osx-arm64", false },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void The_targets_decide_by_the_runtime_identifier(string runtimeIdentifier, bool patched)
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var library = Path.Combine(folder.Path, "out", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(library)!);
        File.Copy(PackagedLibrary, library);

        var build = RunTarget(folder, runtimeIdentifier);

        Assert.True(build.ExitCode == 0, build.Output);
        var need = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(library)).Single(n => n.Version == MissingVersion);
        Assert.Equal(patched ? Weak : 0, need.Flags & Weak);
    }

    [Fact]
    public void A_library_the_task_cannot_read_is_a_warning_not_a_broken_build()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var library = Path.Combine(folder.Path, "out", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(library)!);
        File.WriteAllText(library, "not an ELF file");

        var build = RunTarget(folder, "");

        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Contains("warning", build.Output);
        Assert.Contains("was left as it is (InvalidDataException: not an ELF file)", build.Output);
    }

    // Runs the package's target alone on a folder, as a consumer's build runs it after copying the output.
    static (int ExitCode, string Output) RunTarget(FixturePaths.TemporaryFolder folder, string runtimeIdentifier)
    {
        var targets = Path.Combine(FixturePaths.Metadata("RepositoryRoot"), "src", "EfficientNet.MLNet", "buildTransitive", "EfficientNet.MLNet.targets");
        var project = folder.File("consumer.proj");
        File.WriteAllText(project, $"<Project><Import Project=\"{targets}\" /></Project>");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "msbuild", project, "-t:EfficientNetFixLibTorchSharpInOutput", $"-p:OutDir={folder.File("out")}/", $"-p:RuntimeIdentifier={runtimeIdentifier}", "-nologo", "-v:n" })
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    [Fact]
    public void Not_an_ELF_file_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => GlibcxxRequirementWeakener.ReadVersionNeeds(new byte[100]));
    }
}
