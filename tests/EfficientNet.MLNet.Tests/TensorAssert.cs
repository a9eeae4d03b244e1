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

    /// <summary>Every tensor of <paramref name="before"/> outside the classifier is in <paramref name="after"/>, unchanged (a frozen backbone).</summary>
    public static void BackboneUnchanged(IEnumerable<KeyValuePair<string, Tensor>> before, IDictionary<string, Tensor> after)
    {
        var checkedTensors = 0;
        foreach (var (name, tensor) in before.Where(p => !p.Key.StartsWith(MLNet.Network.EfficientNetModel.ClassifierPrefix, StringComparison.Ordinal)))
        {
            Assert.True(AreIdentical(tensor, after[name]), $"{name} changed although the backbone was frozen");
            checkedTensors++;
        }
        Assert.True(checkedTensors > 0, "no backbone tensor to compare");
    }
}
