namespace EfficientNet.MLNet;

/// <summary>
/// A value of one row of the input data cannot be used (a missing label, pixels outside 0..255): which row, of which
/// column and which data, and what to do. Bad data, not a failure of the library: the CLI exits with code 2 on it.
/// </summary>
public class DataRowException : EfficientNetException
{
    /// <summary>Creates the exception: "Row R of the column 'C' in D: problem".</summary>
    /// <param name="row">0-based row.</param>
    /// <param name="column">The column's name.</param>
    /// <param name="problem">What is wrong and what to do, as a sentence.</param>
    /// <param name="data">Which data, e.g. "the training data".</param>
    /// <param name="innerException">The error that revealed it.</param>
    public DataRowException(long row, string column, string problem, string data = "the data", Exception? innerException = null)
        : this(row, column, problem, data, $"Row {row} of the column '{column}' in {data}: {problem}", innerException)
    {
    }

    /// <summary>Creates the exception with a message of its own.</summary>
    protected DataRowException(long row, string column, string problem, string data, string message, Exception? innerException)
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

    /// <summary>The same error, said of a named part of the data.</summary>
    public virtual DataRowException In(string data) => new(Row, Column, Problem, data, InnerException);
}
