namespace EfficientNet.MLNet.Cli;

/// <summary>Bad usage or bad input (exit code 2): the message says what and where.</summary>
internal sealed class CliInputException(string message) : Exception(message);
