namespace EfficientNet.MLNet.Network;

/// <summary>TensorFlow's "SAME" padding rule (<see cref="ConvPadding.Same"/>), shared by the network and the ONNX export.</summary>
public static class TensorFlowPadding
{
    /// <summary>The padding before and after one spatial dimension of <paramref name="inputSize"/> pixels.</summary>
    /// <param name="inputSize">The dimension's size.</param>
    /// <param name="kernel">The kernel's size along it.</param>
    /// <param name="stride">The stride along it.</param>
    public static (long Before, long After) Of(long inputSize, long kernel, long stride)
    {
        var output = OutputSize(inputSize, stride);
        var total = Math.Max((output - 1) * stride + kernel - inputSize, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>The output size along a dimension: ceil(input / stride).</summary>
    public static long OutputSize(long inputSize, long stride) => (inputSize + stride - 1) / stride;

    /// <summary>
    /// Whether "SAME" is the symmetric (k - 1) / 2 for every input size: at stride 1 with an odd kernel. Only other
    /// convolutions need their padding computed from the input.
    /// </summary>
    public static bool IsAlwaysSymmetric(long kernel, long stride) => stride == 1 && kernel % 2 == 1;
}
