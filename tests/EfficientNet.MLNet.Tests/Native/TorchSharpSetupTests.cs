using EfficientNet.MLNet.Native;

namespace EfficientNet.MLNet.Tests.Native;

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
}
