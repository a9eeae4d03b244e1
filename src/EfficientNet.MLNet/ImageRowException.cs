namespace EfficientNet.MLNet;

/// <summary>
/// An image of one row could not be read (missing, empty, damaged, not an image): which row, of which column and
/// which data, and why. With <c>SkipUnreadableImages</c> such rows are left out instead.
/// </summary>
public sealed class ImageRowException : DataRowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="row">0-based row, or -1 when ML.NET's parallel loader failed ahead of the rows (the problem names the file).</param>
    /// <param name="column">The image column.</param>
    /// <param name="problem">What is wrong with the image.</param>
    /// <param name="data">Which data, e.g. "the training data".</param>
    /// <param name="innerException">The error that revealed it.</param>
    public ImageRowException(long row, string column, string problem, string data = "the data", Exception? innerException = null)
        : base(row, column, problem, data, row >= 0
            ? $"Row {row} of the image column '{column}' in {data}: {problem}. Fix or remove that image, or set SkipUnreadableImages."
            : $"A file of the image column '{column}' in {data} could not be read by ML.NET's loader: {problem}. Fix or remove that file (with this loader the row is unknown and it cannot be skipped).", innerException)
    {
    }

    /// <inheritdoc />
    public override ImageRowException In(string data) => new(Row, Column, Problem, data, InnerException);
}
