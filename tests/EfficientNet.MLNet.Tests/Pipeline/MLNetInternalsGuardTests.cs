using EfficientNet.MLNet.MLNetInternals;

namespace EfficientNet.MLNet.Tests.Pipeline;

/// <summary>
/// An ML.NET release that moved one of the internal members the library uses gets an error that names the member and
/// the loaded release and says what to do; another library's missing member is not blamed on ML.NET.
/// </summary>
public class MLNetInternalsGuardTests
{
    [Fact]
    public void A_moved_MLNet_internal_is_named_with_the_loaded_release_and_what_to_do()
    {
        var error = Assert.Throws<EfficientNetException>(() => MLNetInternalsGuard.Use("model persistence (ModelSaveContext)",
            () => throw new MissingMethodException("Method not found: 'Void Microsoft.ML.ModelSaveContext.CheckAtModel()'.")));

        Assert.StartsWith("EfficientNet.MLNet needs ML.NET's model persistence (ModelSaveContext), which the loaded Microsoft.ML (", error.Message);
        Assert.Contains($"Microsoft.ML ({MLNetInternalsGuard.LoadedRelease})", error.Message);
        Assert.StartsWith("6.0.0", MLNetInternalsGuard.LoadedRelease);
        Assert.Contains("Microsoft.ML.ModelSaveContext.CheckAtModel", error.Message);
        Assert.Contains("Use Microsoft.ML 5.0.1 to 6.x", error.Message);
        Assert.IsType<MissingMethodException>(error.InnerException);
    }

    [Fact]
    public void Another_librarys_missing_member_goes_on_unchanged()
    {
        var skia = new MissingMethodException("Method not found: 'System.ReadOnlySpan`1<Byte> SkiaSharp.SKBitmap.GetPixelSpan()'.");

        Assert.Same(skia, Assert.Throws<MissingMethodException>(() => MLNetInternalsGuard.Use("anything", () => throw skia)));
        Assert.Equal(7, MLNetInternalsGuard.Use("anything", () => 7));
    }
}
