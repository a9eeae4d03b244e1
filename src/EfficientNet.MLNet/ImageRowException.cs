namespace EfficientNet.MLNet;

/// <summary>An image of one row could not be read: which row, of which column and which data, and why.</summary>
public sealed class ImageRowException : EfficientNetException
{
    /// <summary>Creates the exception.</summary>
    public ImageRowException(long row, string column, string problem, string data = "the data", Exception? innerException = null)
        : base(row >= 0
            ? $"Row {row} of the image column '{column}' in {data}: {problem}. Fix or remove that image, or set SkipUnreadableImages."
            : $"A file of the image column '{column}' in {data} could not be read by ML.NET's loader: {problem}. Fix or remove that file (with this loader the row is unknown and it cannot be skipped).", innerException)
    {
        Row = row;
        Column = column;
        Problem = problem;
        DataName = data;
    }

    /// <summary>
    /// 0-based row of the IDataView, or -1 when ML.NET's parallel loader (LoadRawImageBytes) failed to read a file
    /// ahead of the rows handed out: the message then names the file.
    /// </summary>
    public long Row { get; }

    /// <summary>The image column.</summary>
    public string Column { get; }

    /// <summary>What is wrong with the image.</summary>
    public string Problem { get; }

    /// <summary>Which data: "the training data", "the validation data" or "the data".</summary>
    public string DataName { get; }

    /// <summary>The same error, said of a named part of the data.</summary>
    public ImageRowException In(string data) => new(Row, Column, Problem, data, InnerException);
}
