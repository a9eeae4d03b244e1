namespace EfficientNet.MLNet.Network;

/// <summary>One leaf layer of a <see cref="ModelSummary"/>.</summary>
/// <param name="Name">The layer's state_dict path, e.g. "features.1.0.block.0.0".</param>
/// <param name="Type">The module type, e.g. "Conv2d".</param>
/// <param name="OutputShape">The output shape for a batch of one.</param>
/// <param name="Parameters">The layer's own parameters.</param>
/// <param name="MultiplyAdds">Multiply-adds of convolutions and linear layers for one image (0 for other layers).</param>
public sealed record LayerSummary(string Name, string Type, long[] OutputShape, long Parameters, long MultiplyAdds);
