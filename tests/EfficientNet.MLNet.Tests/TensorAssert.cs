using static TorchSharp.torch;

namespace EfficientNet.MLNet.Tests;

/// <summary>Exact tensor comparisons (TorchSharp's <c>equal</c> is element-wise, unlike PyTorch's).</summary>
internal static class TensorAssert
{
    public static bool AreIdentical(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    public static void Identical(Tensor expected, Tensor actual) =>
        Assert.True(AreIdentical(expected, actual),
            $"tensors differ: shapes [{string.Join(", ", expected.shape)}] and [{string.Join(", ", actual.shape)}], dtypes {expected.dtype} and {actual.dtype}");
}
