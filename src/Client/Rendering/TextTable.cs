using Spectre.Console;
using Spectre.Console.Rendering;

namespace LayerChop.Client.Rendering;

/// <summary>
/// A table for people: a header row and columns two spaces apart, numbers right-aligned, no borders. Cells are
/// text, never markup (an error message may hold brackets). Written to stdout unless told otherwise; on a
/// terminal a long cell wraps inside its column, redirected nothing wraps.
/// </summary>
public sealed class TextTable
{
    readonly Table table = new() { Border = TableBorder.None, ShowHeaders = true };
    readonly string[] headers;

    public TextTable(params string[] headers)
    {
        this.headers = headers;
        foreach (var header in headers)
            table.AddColumn(new TableColumn(new Text(header, new Style(decoration: Decoration.Bold))) { Padding = new Padding(0, 0, 2, 0) });
        if (table.Columns.Count > 0) table.Columns[^1].Padding = new Padding(0, 0, 0, 0);
    }

    /// <summary>Right-align the named columns (numbers).</summary>
    public TextTable RightAligned(params string[] names)
    {
        for (int i = 0; i < headers.Length; i++)
            if (names.Contains(headers[i])) table.Columns[i].Alignment = Justify.Right;
        return this;
    }

    /// <summary>A table of name/value lines: no header row.</summary>
    public TextTable WithoutHeader()
    {
        table.ShowHeaders = false;
        return this;
    }

    public int RowCount => table.Rows.Count;

    /// <summary>One row; a cell's text is <see cref="object.ToString"/> of its value, null an empty cell.</summary>
    public TextTable AddRow(params object?[] cells)
    {
        if (cells.Length != table.Columns.Count) throw new ArgumentException($"{cells.Length} cells for {table.Columns.Count} columns");
        table.AddRow(cells.Select(c => (IRenderable)new Text(Convert.ToString(c, System.Globalization.CultureInfo.InvariantCulture) ?? "")));
        return this;
    }

    /// <summary>Write the table, <paramref name="indent"/> spaces in from the left.</summary>
    public void Write(IAnsiConsole? console = null, int indent = 0)
    {
        console ??= Terminal.Out;
        if (console.Profile.Capabilities.Ansi) { console.Write(new Padder(table, new Padding(indent, 0, 0, 0))); return; }
        // Plain text: the same layout without the padding Spectre leaves after the last column.
        foreach (var line in Lines(console.Profile.Width - indent)) console.Profile.Out.Writer.WriteLine(new string(' ', indent) + line);
    }

    /// <summary>The table's lines laid out at <paramref name="width"/> columns, without escape codes.</summary>
    public IReadOnlyList<string> Lines(int width = Terminal.RedirectedWidth)
    {
        using var text = new StringWriter();
        var console = Terminal.For(text);
        console.Profile.Width = width;
        console.Write(table);
        return text.ToString().TrimEnd('\n').Split('\n').Select(l => l.TrimEnd()).ToList();
    }
}
