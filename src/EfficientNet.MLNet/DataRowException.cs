namespace EfficientNet.MLNet;

/// <summary>
/// A value of one row of the input data cannot be used (a missing label, pixels outside 0..255): which row, of which
/// column and which data, and what to do. Bad data, not a failure of the library: the CLI exits with code 2 on it.
/// </summary>
public class DataRowException : EfficientNetException
{
    /// <summary>Creates the exception with a message that already says what, where and what to do.</summary>
    public DataRowException(long row, string column, string problem, string data, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Row = row;
        Column = column;
        Problem = problem;
        DataName = data;
    }

    /// <summary>
    /// 0-based row of the IDataView, or -1 when the row is unknown (ML.NET's parallel loader failed ahead of the rows
    /// handed out: the message then names the file).
    /// </summary>
    public long Row { get; }

    /// <summary>The column.</summary>
    public string Column { get; }

    /// <summary>What is wrong with the value.</summary>
    public string Problem { get; }

    /// <summary>Which data: "the training data", "the validation data" or "the data".</summary>
    public string DataName { get; }
}
