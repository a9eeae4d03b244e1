using System.IO.Compression;
using System.Reflection;
using static TorchSharp.torch;

namespace EfficientNet.MLNet.Weights;

/// <summary>
/// One tensor of a torch.save file as TorchSharp.PyBridge's unpickler describes it before reading it (its
/// <c>skipTensorRead</c> mode: dtype, shape, strides, storage offset, and the zip entry of its storage), checked against
/// the size of that entry before anything is allocated: a pickle that declares a [100000, 100000] tensor over a storage
/// of 48 bytes is refused, where reading it would have asked libtorch for 40 GB. PyBridge keeps the description's type
/// internal, so its members are reached by name here, in this one place; a PyBridge release that renames them fails
/// here with the names it lacks (and the tests that read .pth files).
/// </summary>
internal sealed class TensorDescription
{
    const string TypeName = "TensorConstructorArgs";
    private readonly object descriptor;

    private TensorDescription(object descriptor) => this.descriptor = descriptor;

    /// <summary>Whether an unpickled value is a tensor's description.</summary>
    public static bool Is(object? value) => value?.GetType().Name == TypeName;

    /// <summary>The description of an unpickled tensor.</summary>
    public static TensorDescription Of(object value) => Is(value) ? new TensorDescription(value)
        : throw new InvalidOperationException($"TorchSharp.PyBridge unpickled a {value.GetType().FullName} where a {TypeName} was expected.");

    /// <summary>Checks the declared layout against the storage entry's size, then reads the tensor.</summary>
    /// <exception cref="WeightsFormatException">The tensor declares more elements than its storage holds, or a negative size.</exception>
    public Tensor Read(ZipArchive zip, string name, string path)
    {
        var shape = Member<long[]>("Shape");
        var stride = Member<long[]>("Stride");
        var offset = (long)Member<int>("StorageOffset");
        var dtype = Member<ScalarType>("DType");
        var storageBytes = zip.Entries[Member<int>("ArchiveIndex")].Length;
        if (shape.Any(d => d < 0) || stride.Any(s => s < 0) || offset < 0 || stride.Length != shape.Length)
            throw new WeightsFormatException(path, $"the tensor '{name}' declares shape [{string.Join(", ", shape)}], strides [{string.Join(", ", stride)}] and offset {offset}: not a tensor's layout (the file is damaged)", PyTorchStateDict.Format, null);
        // The elements libtorch allocates (a contiguous tensor of the shape) and the last one the strides reach: both
        // within the storage. Counted in 128 bits, since a hostile shape overflows 64.
        Int128 elements = 1, reach = offset + 1;
        for (var i = 0; i < shape.Length; i++)
        {
            elements *= shape[i];
            reach += (Int128)(shape[i] - 1) * stride[i];
        }
        var size = ElementSize(dtype);
        var needed = elements == 0 ? 0 : Int128.Max(elements, reach) * size;
        if (needed > storageBytes)
            throw new WeightsFormatException(path, $"the tensor '{name}' declares shape [{string.Join(", ", shape)}] of {dtype} ({needed:N0} bytes) but its storage holds {storageBytes:N0} bytes: the file is damaged or forged; nothing was allocated for it", PyTorchStateDict.Format, null);
        var read = descriptor.GetType().GetMethod("ReadTensorFromStream", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new MissingMethodException(descriptor.GetType().FullName, "ReadTensorFromStream");
        try
        {
            return (Tensor)read.Invoke(descriptor, null)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not OutOfMemoryException)
        {
            throw new WeightsFormatException(path, $"the tensor '{name}' could not be read from its storage ({e.InnerException?.Message})", PyTorchStateDict.Format, e.InnerException);
        }
    }

    T Member<T>(string property) =>
        descriptor.GetType().GetProperty(property, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(descriptor) is T value
            ? value
            : throw new MissingMemberException(descriptor.GetType().FullName, property);

    static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.ComplexFloat64 => 16,
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
