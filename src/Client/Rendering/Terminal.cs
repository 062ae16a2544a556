using Spectre.Console;

namespace LayerChop.Client.Rendering;

/// <summary>
/// Stdout and stderr as Spectre.Console consoles. On a terminal they use its width, colours and cursor; when
/// redirected they write plain text (no escape codes, ASCII borders) at a fixed width wide enough that no
/// table cell wraps, so the output is the same wherever it goes.
/// </summary>
public static class Terminal
{
    /// <summary>The width a redirected stream is laid out at.</summary>
    public const int RedirectedWidth = 1000;

    static IAnsiConsole? stdout, stderr;

    public static IAnsiConsole Out => stdout ??= For(Console.Out, Console.IsOutputRedirected);

    public static IAnsiConsole Error => stderr ??= For(Console.Error, Console.IsErrorRedirected);

    /// <summary>The console for a writer: stdout's or stderr's for those, else a plain one (a file, a test's StringWriter).</summary>
    public static IAnsiConsole For(TextWriter writer) =>
        ReferenceEquals(writer, Console.Out) ? Out : ReferenceEquals(writer, Console.Error) ? Error : For(writer, redirected: true);

    static IAnsiConsole For(TextWriter writer, bool redirected)
    {
        if (!redirected) return AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = RedirectedWidth;
        console.Profile.Capabilities.Unicode = false;
        return console;
    }

    /// <summary>Whether live redraw is possible: a terminal that understands cursor movement.</summary>
    public static bool IsLive(IAnsiConsole console) => console.Profile.Capabilities.Ansi && console.Profile.Out.IsTerminal;
}
