namespace NetBufNative.Bench;

/// <summary>A Markdown table whose columns are padded to their widest cell, so it reads on a console too.</summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly bool[] _right;
    private readonly List<string[]> _rows = [];

    /// <summary>Columns are named by their headers; a header starting with '>' is right-aligned (the '>' is dropped).</summary>
    public TextTable(params string[] headers)
    {
        _right = [.. headers.Select(h => h.StartsWith('>'))];
        _headers = [.. headers.Select(h => h.TrimStart('>'))];
    }

    public int Count => _rows.Count;

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Print(TextWriter writer)
    {
        int[] widths = [.. _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => Cell(r, i).Length)))];
        writer.WriteLine(Line(_headers, widths));
        writer.WriteLine("|" + string.Concat(widths.Select((w, i) => (_right[i] ? new string('-', w + 1) + ":" : new string('-', w + 2)) + "|")));
        foreach (string[] row in _rows)
        {
            writer.WriteLine(Line(row, widths));
        }
    }

    private static string Cell(string[] row, int i) => i < row.Length ? row[i] : string.Empty;

    private string Line(string[] cells, int[] widths) =>
        "|" + string.Concat(widths.Select((w, i) => " " + (_right[i] ? Cell(cells, i).PadLeft(w) : Cell(cells, i).PadRight(w)) + " |"));
}
