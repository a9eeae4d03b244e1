namespace EfficientNet.MLNet;

/// <summary>How an ONNX export stores the network's weights.</summary>
public enum OnnxWeightPrecision
{
    /// <summary>32-bit floats: the weights exactly as trained.</summary>
    Float32,

    /// <summary>
    /// 16-bit floats for the convolution and classifier weights (half the file), each cast to float32 inside the graph,
    /// so the input, the outputs and the arithmetic stay float32 and any ONNX runtime runs it; biases, folded batch-norm
    /// shifts and the normalization stay float32. The cost is the weights' rounding to half precision (measured in the
    /// README's ONNX section).
    /// </summary>
    Float16,
}
