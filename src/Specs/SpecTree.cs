using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LayerChop.Specs;

// A spec file as a plain tree of mappings, lists and scalars, each with the line it starts on. YAML and JSON
// both become this tree, so one reader checks fields, types and unknown keys for both and its errors carry
// the same field names and line numbers whichever format the user wrote. The generic deserializers of
// YamlDotNet and System.Text.Json are not used: they lose lines, accept duplicate keys and name CLR types.

internal enum ScalarKind { String, Number, Bool, Null }

internal abstract record SpecNode(int Line);

internal sealed record SpecScalar(string Text, ScalarKind Kind, int Line) : SpecNode(Line);

internal sealed record SpecList(IReadOnlyList<SpecNode> Items, int Line) : SpecNode(Line);

/// <summary>Entries in file order; duplicate keys are kept so the reader can report them with their field name.</summary>
internal sealed record SpecMap(IReadOnlyList<SpecEntry> Entries, int Line) : SpecNode(Line);

internal sealed record SpecEntry(string Key, int Line, SpecNode Value);

internal static partial class SpecTree
{
    /// <summary>The first document of a YAML text; a malformed one is a single problem with its line.</summary>
    public static SpecNode ParseYaml(string text, string source)
    {
        TrackingParser? parser = null;
        try
        {
            parser = new TrackingParser(new Parser(new StringReader(text)));
            parser.MoveNext();
            Expect<StreamStart>(parser);
            if (parser.Current is StreamEnd)
                throw Malformed(source, 1, "the spec is empty");
            Expect<DocumentStart>(parser);
            var root = ReadYamlNode(parser, new Dictionary<string, SpecNode>(StringComparer.Ordinal), source);
            Expect<DocumentEnd>(parser);
            if (parser.Current is not StreamEnd)
                throw Malformed(source, Line(parser.Current!.Start), "a spec is one YAML document; remove the second '---' and what follows");
            return root;
        }
        catch (YamlException e) when (TabIndented(text) is int line && e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            // YamlDotNet places a tab in the indentation at the start of the mapping it breaks, not at the tab.
            throw Malformed(source, line, "malformed YAML: a tab in the indentation; YAML indents with spaces only");
        }
        catch (YamlException e)
        {
            // YamlDotNet's lines are 1-based; its message has no position in it.
            throw Malformed(source, (int)e.Start.Line, "malformed YAML: " + OneLine(e.Message));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some unclosed flow collections instead of with a YamlException.
            int line = parser?.LastLine ?? 1;
            throw Malformed(source, line, $"malformed YAML: the text after line {line} cannot be read (an unclosed bracket or quote?)");
        }
    }

    /// <summary>The first line (1-based) whose indentation holds a tab; null when none does.</summary>
    static int? TabIndented(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].TakeWhile(c => c is ' ' or '\t').Contains('\t')) return i + 1;
        return null;
    }

    /// <summary>Remembers where the last event started, for errors that come without a position.</summary>
    sealed class TrackingParser(IParser inner) : IParser
    {
        public int LastLine { get; private set; } = 1;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            bool moved = inner.MoveNext();
            if (inner.Current is { } current) LastLine = Line(current.Start);
            return moved;
        }
    }

    static void Expect<T>(IParser parser) where T : ParsingEvent
    {
        if (parser.Current is not T)
            throw new YamlException(parser.Current?.Start ?? Mark.Empty, parser.Current?.End ?? Mark.Empty,
                $"expected {typeof(T).Name}, found {parser.Current?.GetType().Name ?? "the end"}");
        parser.MoveNext();
    }

    static SpecNode ReadYamlNode(IParser parser, Dictionary<string, SpecNode> anchors, string source)
    {
        var current = parser.Current ?? throw new YamlException("unexpected end of the YAML text");
        int line = Line(current.Start);
        SpecNode node;
        switch (current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                return anchors.TryGetValue(alias.Value.Value, out var target)
                    ? target
                    : throw Malformed(source, line, $"malformed YAML: alias *{alias.Value.Value} names no anchor");
            case Scalar scalar:
                parser.MoveNext();
                node = new SpecScalar(scalar.Value, KindOf(scalar), line);
                break;
            case SequenceStart:
            {
                parser.MoveNext();
                var items = new List<SpecNode>();
                while (parser.Current is not SequenceEnd)
                    items.Add(ReadYamlNode(parser, anchors, source));
                parser.MoveNext();
                node = new SpecList(items, line);
                break;
            }
            case MappingStart:
            {
                parser.MoveNext();
                var entries = new List<SpecEntry>();
                while (parser.Current is not MappingEnd)
                {
                    var key = ReadYamlNode(parser, anchors, source);
                    if (key is not SpecScalar { Kind: not ScalarKind.Null } keyScalar)
                        throw Malformed(source, key.Line, "a mapping key must be a plain name");
                    entries.Add(new SpecEntry(keyScalar.Text, key.Line, ReadYamlNode(parser, anchors, source)));
                }
                parser.MoveNext();
                node = new SpecMap(entries, line);
                break;
            }
            default:
                throw Malformed(source, line, $"malformed YAML: unexpected {current.GetType().Name}");
        }
        if (current is NodeEvent { Anchor.IsEmpty: false } anchored)
            anchors[anchored.Anchor.Value] = node;
        return node;
    }

    static int Line(Mark mark) => (int)mark.Line;

    // The YAML 1.2 core schema for unquoted scalars: null, booleans and numbers are typed, everything else is
    // text. Quoted scalars and !!str are always text. Underscores between digits are accepted (100_000_000
    // reads better as a token count); YAML 1.1's yes/no/on/off are text, not booleans.
    static ScalarKind KindOf(Scalar scalar)
    {
        if (scalar.Style != ScalarStyle.Plain || scalar.Tag.ToString() == "tag:yaml.org,2002:str")
            return ScalarKind.String;
        return scalar.Value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => ScalarKind.Null,
            "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => ScalarKind.Bool,
            var text when NumberPattern().IsMatch(text) => ScalarKind.Number,
            _ => ScalarKind.String,
        };
    }

    [GeneratedRegex(@"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    /// <summary>A JSON text (comments and trailing commas allowed, as people edit specs by hand).</summary>
    public static SpecNode ParseJson(string text, string source)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw Malformed(source, 1, "the spec is empty");
        var bytes = Encoding.UTF8.GetBytes(text);
        var lineStarts = new List<long> { 0 };
        for (int i = 0; i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n') lineStarts.Add(i + 1);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });
        try
        {
            reader.Read();
            var root = ReadJsonNode(ref reader, lineStarts);
            if (reader.Read())
                throw Malformed(source, LineOf(reader.TokenStartIndex, lineStarts), "malformed JSON: more than one value at the top level");
            return root;
        }
        catch (JsonException e)
        {
            // JsonException's line number is 0-based; its message ends with a position that we give ourselves.
            int line = (int)(e.LineNumber ?? 0) + 1;
            var message = OneLine(e.Message);
            int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut < 0) cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            if (cut > 0) message = message[..cut].TrimEnd(' ', '|', '.');
            throw Malformed(source, line, "malformed JSON: " + message);
        }
    }

    static SpecNode ReadJsonNode(ref Utf8JsonReader reader, List<long> lineStarts)
    {
        int line = LineOf(reader.TokenStartIndex, lineStarts);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var entries = new List<SpecEntry>();
                reader.Read();
                while (reader.TokenType != JsonTokenType.EndObject)
                {
                    int keyLine = LineOf(reader.TokenStartIndex, lineStarts);
                    var key = reader.GetString()!;
                    reader.Read();
                    entries.Add(new SpecEntry(key, keyLine, ReadJsonNode(ref reader, lineStarts)));
                    reader.Read();
                }
                return new SpecMap(entries, line);
            }
            case JsonTokenType.StartArray:
            {
                var items = new List<SpecNode>();
                reader.Read();
                while (reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadJsonNode(ref reader, lineStarts));
                    reader.Read();
                }
                return new SpecList(items, line);
            }
            case JsonTokenType.String:
                return new SpecScalar(reader.GetString()!, ScalarKind.String, line);
            case JsonTokenType.Number:
                return new SpecScalar(Encoding.UTF8.GetString(reader.ValueSpan), ScalarKind.Number, line);
            case JsonTokenType.True:
                return new SpecScalar("true", ScalarKind.Bool, line);
            case JsonTokenType.False:
                return new SpecScalar("false", ScalarKind.Bool, line);
            case JsonTokenType.Null:
                return new SpecScalar("null", ScalarKind.Null, line);
            default:
                throw new JsonException($"unexpected {reader.TokenType}", null, line - 1, null);
        }
    }

    static int LineOf(long offset, List<long> lineStarts)
    {
        int index = lineStarts.BinarySearch(offset);
        return (index >= 0 ? index : ~index - 1) + 1;
    }

    static SweepSpecException Malformed(string source, int line, string message) =>
        new(source, [new SpecProblem("", line, message)]);

    static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
