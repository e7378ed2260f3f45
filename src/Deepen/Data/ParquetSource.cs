using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace Deepen.Data;

/// <summary>
/// A Parquet file read one row group at a time. The chosen column is either a string column (each row
/// is a text document; nulls are skipped) or a list of int32/int64 (each row is a pre-tokenized
/// document, packed as it is). Without an explicit column the text field's name is used when the file has
/// it, else <c>input_ids</c>.
/// </summary>
public sealed class ParquetSource(string path, string? column, string textField) : DocumentSource(path)
{
    /// <summary>The column asked for (<c>--parquet-column</c>), or null to choose as described above.</summary>
    public string? Column { get; } = column;

    public string TextField { get; } = textField;

    public override string Description => $"parquet:{Path}[{Column ?? TextField + "|input_ids"}]";

    public override IEnumerable<SourceDocument> ReadDocuments()
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        ParquetReader reader;
        try { reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is ParquetException or IOException or InvalidDataException)
        {
            throw new DeepenException($"{Path}: not a readable Parquet file ({e.Message}).", e);
        }
        try
        {
            var (field, kind) = ChooseColumn(reader.Schema);
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var docs = kind switch
                {
                    ColumnKind.Text => ReadText(group, field),
                    ColumnKind.Int32List => ReadIdLists<int>(group, field, v => v),
                    _ => ReadIdLists<long>(group, field, v => v is >= 0 and <= int.MaxValue ? (int)v
                        : throw new DeepenException($"{Path}: column '{field.Path}' holds token id {v}, outside [0, {int.MaxValue}].")),
                };
                foreach (var doc in docs) yield return doc;
            }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    private enum ColumnKind { Text, Int32List, Int64List }

    private (DataField Field, ColumnKind Kind) ChooseColumn(ParquetSchema schema)
    {
        string name = Column
            ?? (schema.Fields.Any(f => f.Name == TextField) ? TextField
            : schema.Fields.Any(f => f.Name == "input_ids") ? "input_ids" : TextField);
        var field = schema.Fields.FirstOrDefault(f => f.Name == name);
        string available = string.Join(", ", schema.Fields.Select(f => $"{f.Name} ({Describe(f)})"));
        if (field is null)
            throw new DeepenException($"{Path}: no column '{name}' (the file has: {available}); choose one with `parquet_column`.");
        if (field is DataField { IsArray: false } data && IsString(data))
            return (data, ColumnKind.Text);
        if (field is ListField { Item: DataField item } && item.ClrType == typeof(int))
            return (item, ColumnKind.Int32List);
        if (field is ListField { Item: DataField item64 } && item64.ClrType == typeof(long))
            return (item64, ColumnKind.Int64List);
        throw new DeepenException($"{Path}: column '{name}' is {Describe(field)}; expected a string column or a list of int32/int64 token ids.");
    }

    // Parquet.Net 6 reports UTF-8 string columns as ReadOnlyMemory<char> unless told otherwise.
    private static bool IsString(DataField f) => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>);

    private static string Describe(Field f) => f switch
    {
        ListField { Item: DataField item } => $"list<{item.ClrType.Name}>",
        DataField d when IsString(d) => "string",
        DataField d => d.ClrType.Name,
        _ => f.SchemaType.ToString(),
    };

    private static IEnumerable<SourceDocument> ReadText(ParquetRowGroupReader group, DataField field)
    {
        var values = new string?[group.RowCount];
        group.ReadAsync(field, values.AsMemory()).GetAwaiter().GetResult();
        foreach (var text in values)
            yield return SourceDocument.FromText(text ?? "");
    }

    /// <summary>Reassembles list rows from the flat values and their repetition/definition levels (Dremel encoding).</summary>
    private IEnumerable<SourceDocument> ReadIdLists<T>(ParquetRowGroupReader group, DataField leaf, Func<T, int> toId)
        where T : struct
    {
        var docs = new List<SourceDocument>((int)group.RowCount);
        using (var raw = (RawColumnData<T>)group.ReadRawColumnDataBaseAsync(leaf).GetAwaiter().GetResult())
        {
            var values = raw.Values;
            var reps = raw.RepetitionLevels;
            var defs = raw.DefinitionLevels;
            if (reps.IsEmpty && !values.IsEmpty)
                throw new DeepenException($"{Path}: column '{leaf.Path}' has no repetition levels, so its rows cannot be told apart.");
            int maxDef = leaf.MaxDefinitionLevel, slots = reps.Length, v = 0;
            var current = new List<int>();
            for (int i = 0; i < slots; i++)
            {
                if (reps[i] == 0 && i > 0) { docs.Add(SourceDocument.FromIds(current.ToArray())); current.Clear(); }
                int def = defs.IsEmpty ? maxDef : defs[i];
                if (def == maxDef) current.Add(toId(values[v++]));
                else if (leaf.IsNullable && def == maxDef - 1)
                    throw new DeepenException($"{Path}: column '{leaf.Path}' has a null token id in row {docs.Count} of row group {group.RowGroup}.");
                // lower levels: an empty or null list — an empty document.
            }
            if (slots > 0) docs.Add(SourceDocument.FromIds(current.ToArray()));
        }
        if (docs.Count != group.RowCount)
            throw new DeepenException($"{Path}: column '{leaf.Path}' decoded into {docs.Count} rows, but the row group has {group.RowCount}.");
        return docs;
    }
}
