using Microsoft.ML;
using Mono.Cecil;
using SkiaSharp;

namespace EfficientNet.MLNet.Tests.Build;

/// <summary>
/// The library is built against ML.NET 5.0.1 and SkiaSharp 2.88.9 and runs on 6.0.0 and 3.119.2 too (this test
/// process runs on those): every member it references in ML.NET (its internals included) and SkiaSharp exists in the
/// releases loaded here, with the same signature. A member whose signature changed (SkiaSharp 3's GetPixelSpan returns
/// a Span, 2.88's a ReadOnlySpan) would be a MissingMethodException in users' applications, on the first call.
/// </summary>
public class DependencyCompatibilityTests
{
    [Fact]
    public void Every_MLNet_and_SkiaSharp_member_the_library_uses_exists_in_the_releases_loaded_here()
    {
        Assert.StartsWith("6.", MLNetInternals.MLNetInternalsGuard.LoadedRelease);
        Assert.Equal(3, typeof(SKBitmap).Assembly.GetName().Version!.Major);
        var resolver = new DefaultAssemblyResolver();
        foreach (var folder in new[] { typeof(MLContext), typeof(Microsoft.ML.Data.MLImage), typeof(SKBitmap), typeof(TorchSharp.torch), typeof(object) }
                     .Select(t => Path.GetDirectoryName(t.Assembly.Location)!).Distinct())
            resolver.AddSearchDirectory(folder);
        using var library = ModuleDefinition.ReadModule(typeof(EfficientNetTrainer).Assembly.Location, new ReaderParameters { AssemblyResolver = resolver });
        static bool Checked(TypeReference type) => type.Scope.Name.StartsWith("Microsoft.ML", StringComparison.Ordinal) && !type.Scope.Name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal)
                                                    || type.Scope.Name == "SkiaSharp";

        var members = library.GetMemberReferences().Where(m => Checked(m.DeclaringType)).ToList();
        var missing = members.Where(m => (m switch { MethodReference method => method.Resolve(), FieldReference field => (IMemberDefinition?)field.Resolve(), _ => null }) is null)
            .Select(m => m.FullName).ToList();
        var types = library.GetTypeReferences().Where(Checked).ToList();
        missing.AddRange(types.Where(t => t.Resolve() is null).Select(t => t.FullName));

        Assert.True(members.Count > 100, $"only {members.Count} member references found");
        Assert.Contains(members, m => m.DeclaringType.FullName == "Microsoft.ML.ModelSaveContext"); // the internals are checked too
        Assert.Contains(members, m => m.DeclaringType.FullName == "SkiaSharp.SKBitmap");
        Assert.Empty(missing);
    }
}
