using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace EfficientNet.MLNet.MLNetInternals;

/// <summary>
/// What the trainer needs from the MLContext behind a catalog (its log, seed, GPU settings, cancellation), which
/// ML.NET exposes only through internal interfaces. Every such access is here.
/// </summary>
internal static class MLNetEnvironment
{
    /// <summary>The MLContext (as an environment) that owns a trainers catalog.</summary>
    public static IHostEnvironment Of(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog) =>
        MLNetInternalsGuard.Use("IInternalCatalog.Environment", () => ((IInternalCatalog)catalog).Environment);

    /// <summary><c>new MLContext(seed)</c>'s seed, or null.</summary>
    public static int? Seed(IHostEnvironment environment) => MLNetInternalsGuard.Use("IHostEnvironmentInternal.Seed", () => (environment as IHostEnvironmentInternal)?.Seed);

    /// <summary><c>MLContext.GpuDeviceId</c>, or null.</summary>
    public static int? GpuDeviceId(IHostEnvironment environment) => MLNetInternalsGuard.Use("IHostEnvironmentInternal.GpuDeviceId", () => (environment as IHostEnvironmentInternal)?.GpuDeviceId);

    /// <summary><c>MLContext.FallbackToCpu</c>.</summary>
    public static bool FallbackToCpu(IHostEnvironment environment) => MLNetInternalsGuard.Use("IHostEnvironmentInternal.FallbackToCpu", () => (environment as IHostEnvironmentInternal)?.FallbackToCpu ?? false);

    /// <summary>Whether the MLContext was cancelled (ICancelable.CancelExecution, as AutoML does).</summary>
    public static bool IsCanceled(IHostEnvironment environment) => MLNetInternalsGuard.Use("ICancelable.IsCanceled", () => (environment as ICancelable)?.IsCanceled ?? false);

    /// <summary>The shape of a schema, as an estimator sees it (SchemaShape.Create is internal).</summary>
    public static SchemaShape Shape(DataViewSchema schema) => MLNetInternalsGuard.Use("SchemaShape.Create", () => SchemaShape.Create(schema));

    /// <summary>A schema-shape column (its constructor is internal).</summary>
    public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null) =>
        MLNetInternalsGuard.Use("SchemaShape.Column's constructor", () => new SchemaShape.Column(name, kind, itemType, isKey, annotations));
}
