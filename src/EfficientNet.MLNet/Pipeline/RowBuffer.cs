using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.MLNet.Pipeline;

/// <summary>
/// Copies of the values of a few rows of a cursor, so that a cursor can read ahead (to score a batch of images in one
/// forward pass) and still hand out each row's own values afterwards. Values are copied deeply where ML.NET lets a
/// getter reuse memory: vectors (VBuffer) and images (an MLImage from LoadImages or ResizeImages is disposed by the
/// next row's read). Text and other value types are immutable copies already. A column of any other reference type
/// cannot be copied: <see cref="TryCreate"/> then gives null and the caller scores row by row.
/// </summary>
internal sealed class RowBuffer : IDisposable
{
    private readonly Dictionary<int, ColumnBuffer> columns;
    private readonly ValueGetter<DataViewRowId> readId;
    private readonly DataViewRowId[] ids;

    private RowBuffer(Dictionary<int, ColumnBuffer> columns, ValueGetter<DataViewRowId> readId, int capacity)
    {
        this.columns = columns;
        this.readId = readId;
        ids = new DataViewRowId[capacity];
    }

    /// <summary>A buffer of <paramref name="capacity"/> rows of <paramref name="source"/>'s <paramref name="columnsToKeep"/>, or null if one cannot be copied.</summary>
    public static RowBuffer? TryCreate(DataViewRowCursor source, IEnumerable<DataViewSchema.Column> columnsToKeep, int capacity)
    {
        var buffers = new Dictionary<int, ColumnBuffer>();
        foreach (var column in columnsToKeep)
        {
            var buffer = ColumnBuffer.TryCreate(source, column, capacity);
            if (buffer is null)
            {
                foreach (var made in buffers.Values) made.Dispose();
                return null;
            }
            buffers[column.Index] = buffer;
        }
        return new RowBuffer(buffers, source.GetIdGetter(), capacity);
    }

    /// <summary>Copies the source cursor's current row into <paramref name="slot"/>.</summary>
    public void Capture(int slot)
    {
        readId(ref ids[slot]);
        foreach (var column in columns.Values)
            column.Capture(slot);
    }

    /// <summary>A getter of the kept values of <paramref name="column"/> at the slot <paramref name="slot"/> gives.</summary>
    public ValueGetter<T> Getter<T>(DataViewSchema.Column column, Func<int> slot) => ((ColumnBuffer<T>)columns[column.Index]).Getter(slot);

    /// <summary>Whether the buffer keeps <paramref name="column"/>.</summary>
    public bool Keeps(DataViewSchema.Column column) => columns.ContainsKey(column.Index);

    /// <summary>A row that reads the kept values at the slot <paramref name="slot"/> gives (for columns the buffer keeps).</summary>
    public DataViewRow Row(DataViewSchema schema, Func<int> slot, Func<long> position) => new KeptRow(this, schema, slot, position);

    /// <summary>A getter of the kept row ids.</summary>
    public ValueGetter<DataViewRowId> IdGetter(Func<int> slot) => (ref DataViewRowId id) => id = ids[slot()];

    public void Dispose()
    {
        foreach (var column in columns.Values) column.Dispose();
    }

    private sealed class KeptRow(RowBuffer buffer, DataViewSchema schema, Func<int> slot, Func<long> position) : DataViewRow
    {
        public override DataViewSchema Schema => schema;
        public override long Position => position();
        public override long Batch => 0;
        public override bool IsColumnActive(DataViewSchema.Column column) => buffer.columns.ContainsKey(column.Index);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => buffer.Getter<TValue>(column, slot);
        public override ValueGetter<DataViewRowId> GetIdGetter() => buffer.IdGetter(slot);
    }

    private abstract class ColumnBuffer : IDisposable
    {
        public abstract void Capture(int slot);

        public virtual void Dispose() { }

        public static ColumnBuffer? TryCreate(DataViewRowCursor source, DataViewSchema.Column column, int capacity)
        {
            var type = column.Type.RawType;
            var make = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(VBuffer<>)
                ? nameof(Vectors) : type == typeof(MLImage) ? nameof(Images) : type.IsValueType ? nameof(Values) : null;
            if (make is null)
                return null;
            var argument = make == nameof(Vectors) ? type.GetGenericArguments()[0] : type;
            var method = typeof(ColumnBuffer).GetMethod(make, BindingFlags.NonPublic | BindingFlags.Static)!;
            if (make != nameof(Images))
                method = method.MakeGenericMethod(argument);
            return (ColumnBuffer)method.Invoke(null, new object[] { source, column, capacity })!;
        }

        // Value types (numbers, keys, booleans, text as ReadOnlyMemory over an immutable string): a plain copy.
        static ColumnBuffer Values<T>(DataViewRowCursor source, DataViewSchema.Column column, int capacity) =>
            new ColumnBuffer<T>(source.GetGetter<T>(column), capacity, (in T from, ref T to) => to = from, (in T kept, ref T value) => value = kept);

        // Vectors: the getter may reuse its arrays, so the values are copied into arrays of the buffer's own.
        static ColumnBuffer Vectors<T>(DataViewRowCursor source, DataViewSchema.Column column, int capacity) =>
            new ColumnBuffer<VBuffer<T>>(source.GetGetter<VBuffer<T>>(column), capacity,
                (in VBuffer<T> from, ref VBuffer<T> to) => from.CopyTo(ref to), (in VBuffer<T> kept, ref VBuffer<T> value) => kept.CopyTo(ref value));

        // Images: copied (the next row's read may dispose the one read now), and each reader gets a copy of its own, which
        // the buffer disposes when that slot is filled again or the cursor is disposed (a reader keeps an image no longer
        // than ML.NET's own cursors let it).
        static ColumnBuffer Images(DataViewRowCursor source, DataViewSchema.Column column, int capacity) =>
            new ColumnBuffer<MLImage>(source.GetGetter<MLImage>(column), capacity,
                (in MLImage from, ref MLImage to) =>
                {
                    to?.Dispose();
                    to = Copy(from)!;
                    from?.Dispose();
                },
                (in MLImage kept, ref MLImage value) => value = Copy(kept)!,
                imagesOwned: true);

        static MLImage? Copy(MLImage? image) =>
            image is null ? null : MLImage.CreateFromPixels(image.Width, image.Height, image.PixelFormat, image.Pixels);
    }

    private delegate void CopyValue<T>(in T from, ref T to);

    /// <param name="source">The column's getter on the source cursor.</param>
    /// <param name="capacity">Rows kept.</param>
    /// <param name="keep">Copies a read value into a slot.</param>
    /// <param name="handOut">Copies a kept value out to a reader.</param>
    /// <param name="imagesOwned">The kept values are images of the buffer's own (disposed with it), and every read
    /// starts from a null variable (ML.NET's image getters dispose the image they are given).</param>
    private sealed class ColumnBuffer<T>(ValueGetter<T> source, int capacity, CopyValue<T> keep, CopyValue<T> handOut, bool imagesOwned = false) : ColumnBuffer
    {
        private readonly T[] kept = new T[capacity];
        // The copies handed out of each slot: disposed when the slot is filled again (the cursor is then capacity rows
        // further on, where ML.NET's own cursors would long have disposed that row's image) or with the buffer.
        private readonly List<IDisposable>[]? handedOut = imagesOwned ? Enumerable.Range(0, capacity).Select(_ => new List<IDisposable>()).ToArray() : null;
        private T scratch = default!;

        public override void Capture(int slot)
        {
            if (handedOut is not null)
            {
                scratch = default!;
                DisposeAll(handedOut[slot]);
            }
            source(ref scratch);
            keep(in scratch, ref kept[slot]);
        }

        public ValueGetter<T> Getter(Func<int> slot) => handedOut is null
            ? (ref T value) => handOut(in kept[slot()], ref value)
            : (ref T value) =>
            {
                var at = slot();
                handOut(in kept[at], ref value);
                if (value is IDisposable copy)
                    handedOut[at].Add(copy);
            };

        public override void Dispose()
        {
            if (handedOut is null)
                return;
            foreach (var value in kept) (value as IDisposable)?.Dispose();
            foreach (var copies in handedOut) DisposeAll(copies);
        }

        static void DisposeAll(List<IDisposable> copies)
        {
            foreach (var copy in copies) copy.Dispose();
            copies.Clear();
        }
    }
}
