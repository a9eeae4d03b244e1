namespace EfficientNet.MLNet.Network;

/// <summary>How a network pads its convolutions.</summary>
public enum ConvPadding
{
    /// <summary>PyTorch's (torchvision's): (k - 1) / 2 pixels on every side, whatever the input size.</summary>
    Symmetric,

    /// <summary>
    /// TensorFlow's "SAME", which Google's EfficientNet weights were trained with (timm's <c>tf_*</c> models): the output is
    /// ceil(input / stride), and the padding that takes, max((ceil(input / stride) - 1) * stride + kernel - input, 0),
    /// is split with the odd pixel at the bottom and the right. It depends on the input size, so a strided convolution
    /// pads asymmetrically when the size is even; see <see cref="TensorFlowPadding"/>.
    /// </summary>
    Same,
}
