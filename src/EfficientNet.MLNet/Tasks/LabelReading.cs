using Microsoft.ML;

namespace EfficientNet.MLNet.Tasks;

/// <summary>
/// The label column of one data set, and how to read it: <see cref="Open"/> takes a cursor over the column and gives a
/// function that reads the current row's labels (0-based label indices; one for a multiclass row), or throws a
/// <see cref="DataRowException"/> naming the row.
/// </summary>
internal sealed record LabelReading(DataViewSchema.Column Column, Func<DataViewRowCursor, Func<int[]>> Open);
