using System.Text;

namespace LayerChop.Engine.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-unicode table used by byte-level BPE: printable Latin-1 bytes map to
/// themselves, the other 68 bytes map to U+0100 and up, so every byte sequence becomes a string without
/// whitespace or control characters (space becomes 'Ġ', newline 'Ċ').
/// </summary>
internal static class ByteLevel
{
    private static readonly char[] ByteToChar = BuildTable();
    private static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    /// <summary>The character that stands for byte <paramref name="b"/>.</summary>
    public static char Char(byte b) => ByteToChar[b];

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to byte-level characters.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(text, bytes);
        return Encode(bytes);
    }

    /// <summary>Maps <paramref name="bytes"/> to byte-level characters, one character per byte.</summary>
    public static string Encode(byte[] bytes)
    {
        return string.Create(bytes.Length, bytes, static (span, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                span[i] = ByteToChar[src[i]];
            }
        });
    }

    /// <summary>
    /// Appends the bytes that the byte-level token <paramref name="token"/> stands for. Characters outside
    /// the table (which a well-formed byte-level vocabulary never has) are appended as their UTF-8 bytes.
    /// </summary>
    public static void AppendBytes(string token, List<byte> output)
    {
        foreach (char c in token)
        {
            if (CharToByte.TryGetValue(c, out byte b))
            {
                output.Add(b);
            }
            else
            {
                output.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var assigned = new bool[256];
        for (int b = '!'; b <= '~'; b++) { table[b] = (char)b; assigned[b] = true; }
        for (int b = 0xA1; b <= 0xAC; b++) { table[b] = (char)b; assigned[b] = true; }
        for (int b = 0xAE; b <= 0xFF; b++) { table[b] = (char)b; assigned[b] = true; }
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                table[b] = (char)(256 + next);
                next++;
            }
        }
        return table;
    }

    private static Dictionary<char, byte> BuildReverse()
    {
        var reverse = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++)
        {
            reverse[ByteToChar[b]] = (byte)b;
        }
        return reverse;
    }
}
