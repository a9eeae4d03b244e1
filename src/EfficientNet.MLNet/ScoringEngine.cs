namespace EfficientNet.MLNet;

/// <summary>What scores images for a trained model (Transform, PredictionEngine, Evaluate, the CLI, PretrainedClassifier).</summary>
public enum ScoringEngine
{
    /// <summary>
    /// ONNX Runtime when the application can load it (it references Microsoft.ML.OnnxRuntime) and scoring runs on the
    /// CPU; otherwise TorchSharp (GPU scoring through TorchSharp CUDA, as the model was trained).
    /// </summary>
    Auto,
    /// <summary>ONNX Runtime on the model's ONNX export (on a GPU through its CUDA execution provider); needs no libtorch.</summary>
    OnnxRuntime,
    /// <summary>TorchSharp (libtorch), with batch norms folded, channels-last, in inference mode.</summary>
    TorchSharp,
}
