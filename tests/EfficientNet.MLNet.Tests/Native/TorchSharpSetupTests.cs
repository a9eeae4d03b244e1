using EfficientNet.MLNet.Build;
using EfficientNet.MLNet.Native;

namespace EfficientNet.MLNet.Tests.Native;

[Collection(EnvironmentCollection.Name)]
public class TorchSharpSetupTests
{
    [Fact]
    public void In_a_built_application_setup_changes_nothing_and_reports_ready()
    {
        // This test host is a build output: the native library is beside it, patched by the build.
        var message = TorchSharpSetup.Initialize();

        Assert.Equal("TorchSharp is ready.", message);
        Assert.Equal(message, TorchSharpSetup.Initialize());
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location)!, "cpu")));
    }

    [Fact]
    public void Libtorch_is_chosen_by_version_not_by_text_and_the_one_TorchSharp_wants_first()
    {
        var available = new[] { "2.9.0", "2.10.0", "2.8.1", "notes" };

        Assert.Equal("2.10.0", TorchSharpSetup.ChooseLibtorchVersion(available, null));
        Assert.Equal("2.10.0", TorchSharpSetup.ChooseLibtorchVersion(available, "2.10.0.0")); // TorchSharp 0.107's constant
        Assert.Equal("2.9.0", TorchSharpSetup.ChooseLibtorchVersion(available, "2.9.0.0"));
        Assert.Equal("2.10.0", TorchSharpSetup.ChooseLibtorchVersion(available, "2.11.0.0")); // not there: the highest
        Assert.Null(TorchSharpSetup.ChooseLibtorchVersion(Array.Empty<string>(), "2.10.0.0"));
    }

    [Fact]
    public void The_patched_copy_goes_to_the_librarys_cache_folder_never_to_the_package_cache()
    {
        using var folder = new FixturePaths.TemporaryFolder();
        var package = Path.Combine(FixturePaths.Metadata("NuGetPackageRoot"), "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var before = File.ReadAllBytes(package);
        using var environment = new EnvironmentVariables().Set("EFFICIENTNET_CACHE", folder.Path);

        var copy = TorchSharpSetup.PatchedCopy(package);

        Assert.StartsWith(Path.Combine(folder.Path, "native") + Path.DirectorySeparatorChar, copy);
        Assert.Equal(copy, TorchSharpSetup.PatchedCopy(package)); // named by content: the same file again
        var need = GlibcxxRequirementWeakener.ReadVersionNeeds(File.ReadAllBytes(copy)).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal(0x2, need.Flags & 0x2);
        Assert.Equal(before, File.ReadAllBytes(package));
    }
}
