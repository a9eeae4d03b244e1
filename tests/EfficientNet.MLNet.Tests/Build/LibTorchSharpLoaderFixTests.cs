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
    public void Patching_for_a_system_without_the_version_sets_one_weak_flag_and_nothing_else()
    {
        var original = File.ReadAllBytes(PackagedLibrary);
        var elf = (byte[])original.Clone();

        var outcome = GlibcxxRequirementWeakener.Patch(elf, version => version != MissingVersion);

        Assert.Equal(new[] { MissingVersion }, outcome.Weakened);
        Assert.Empty(outcome.Unfixable);
        var changed = Enumerable.Range(0, elf.Length).Where(i => elf[i] != original[i]).ToList();
        Assert.Single(changed);
        var need = GlibcxxRequirementWeakener.ReadVersionNeeds(elf).Single(n => n.Version == MissingVersion);
        Assert.Equal(need.FlagsOffset, changed[0]);
        Assert.Equal(Weak, need.Flags & Weak);
        Assert.Empty(GlibcxxRequirementWeakener.Patch(elf, version => version != MissingVersion).Weakened); // idempotent
    }

    [Fact]
    public void Patching_is_a_no_op_where_the_system_has_every_version()
    {
        var original = File.ReadAllBytes(PackagedLibrary);
        var elf = (byte[])original.Clone();

        var outcome = GlibcxxRequirementWeakener.Patch(elf, _ => true);

        Assert.Empty(outcome.Weakened);
        Assert.Equal(original, elf);
    }

    [Fact]
    public void A_missing_version_that_real_symbols_need_is_reported_not_weakened()
    {
        var elf = File.ReadAllBytes(PackagedLibrary);
        var original = (byte[])elf.Clone();

        var outcome = GlibcxxRequirementWeakener.Patch(elf, version => version != "GLIBCXX_3.4.21");

        var (version, symbols) = Assert.Single(outcome.Unfixable);
        Assert.Equal("GLIBCXX_3.4.21", version);
        Assert.NotEmpty(symbols);
        Assert.DoesNotContain(GlibcxxRequirementWeakener.IostreamMarkerSymbol, symbols);
        Assert.Equal(original, elf);
    }

    [Fact]
    public void The_build_patched_its_own_output_copy_only_if_this_system_lacks_the_version()
    {
        var systemLibrary = GlibcxxRequirementWeakener.FindSystemLibstdcxx();
        Assert.SkipWhen(systemLibrary is null, "no system libstdc++.so.6 in the usual folders");
        var systemHasVersion = GlibcxxRequirementWeakener.DefinesVersion(File.ReadAllBytes(systemLibrary!), MissingVersion);

        var output = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(OutputLibrary)).Single(n => n.Version == MissingVersion);
        var packaged = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(PackagedLibrary)).Single(n => n.Version == MissingVersion);

        Assert.Equal(systemHasVersion ? 0 : Weak, output.Flags & Weak);
        Assert.Equal(0, packaged.Flags & Weak); // the package cache is never written
    }

    [Fact]
    public void Not_an_ELF_file_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => GlibcxxRequirementWeakener.ReadVersionNeeds(new byte[100]));
    }
}
