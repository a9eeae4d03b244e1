namespace EfficientNet.MLNet;

/// <summary>The base of every error this library raises on purpose: bad files, mismatched weights, bad options.</summary>
public class EfficientNetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EfficientNetException(string message, Exception? innerException = null) : base(message, innerException) { }
}
