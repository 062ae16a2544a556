using Spectre.Console;

namespace LayerChop.Client.Rendering;

/// <summary>
/// Progress for people on stderr: a block of lines redrawn in place on a terminal (at most every
/// <c>liveEvery</c>), or, when stderr is redirected, printed as plain lines every <c>plainEvery</c> (the first
/// after that long; never when it is null) so that a log file gets a line now and then. An important update
/// (a change of state, the last step) is always shown. Lines longer than the terminal are cut, and a block
/// taller than it shows its first lines and how many more there are, so the redraw always lands in place.
/// </summary>
public sealed class LiveBlock
{
    readonly IAnsiConsole console;
    readonly bool live;
    readonly TimeSpan? plainEvery;
    readonly TimeSpan liveEvery;
    readonly Lock gate = new();
    IReadOnlyList<string> shown = [];
    int drawnLines;
    DateTime lastDrawn;

    /// <param name="live">redraw in place; by default when the console is a terminal.</param>
    /// <param name="console">stderr by default.</param>
    public LiveBlock(TimeSpan? plainEvery, TimeSpan? liveEvery = null, bool? live = null, IAnsiConsole? console = null)
    {
        this.console = console ?? Terminal.Error;
        this.live = live ?? Terminal.IsLive(this.console);
        this.plainEvery = plainEvery;
        this.liveEvery = liveEvery ?? TimeSpan.FromSeconds(0.1);
        lastDrawn = this.live ? DateTime.MinValue : DateTime.UtcNow;
    }

    public bool IsLive => live;

    /// <summary>Show these lines (on a terminal: in place of the ones drawn before).</summary>
    public void Show(IReadOnlyList<string> lines, bool important = false)
    {
        lock (gate)
        {
            var now = DateTime.UtcNow;
            var every = live ? liveEvery : plainEvery;
            if (!important && (every is null || now - lastDrawn < every)) return;
            lastDrawn = now;
            if (!live) { foreach (var line in lines) console.Profile.Out.Writer.WriteLine(line); return; }
            shown = lines;
            Redraw(message: null);
        }
    }

    /// <summary>One line that stays: above the block on a terminal, which is drawn again below it.</summary>
    public void Message(string line)
    {
        lock (gate)
        {
            if (!live || drawnLines == 0) { console.Profile.Out.Writer.WriteLine(line); return; }
            Redraw(message: line);
        }
    }

    /// <summary>Leave the block as drawn; a later <see cref="Show"/> starts a new block below it.</summary>
    public void End()
    {
        lock (gate) { drawnLines = 0; shown = []; }
    }

    void Redraw(string? message)
    {
        int width = Math.Max(10, console.Profile.Width - 1);
        int height = Math.Max(2, console.Profile.Height - 1);
        var lines = shown.Count <= height ? shown : [.. shown.Take(height - 1), $"... and {shown.Count - (height - 1)} more"];
        int up = drawnLines;
        console.Write(ControlCode.Create(console.Profile.Capabilities, ansi =>
        {
            if (up > 0) ansi.CursorUp(up);
            ansi.CursorHorizontalAbsolute(1);
            ansi.EraseInDisplay(0);                   // from the cursor to the end of the screen
        }));
        if (message is not null) console.WriteLine(message);
        foreach (var line in lines) console.WriteLine(line.Length <= width ? line : line[..(width - 3)] + "...");
        drawnLines = lines.Count;
    }
}
