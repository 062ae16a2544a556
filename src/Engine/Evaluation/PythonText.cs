using System.Globalization;
using System.Text;

namespace LayerChop.Engine.Evaluation;

/// <summary>
/// Python's str methods that lm-evaluation-harness's prompts rely on, for .NET strings: what counts as whitespace to
/// strip/rstrip, and str.capitalize (HellaSwag's ctx_b). capitalize title-cases the first character with the full
/// Unicode mapping (the ligature "ﬁ" becomes "Fi", "ǆ" becomes "ǅ") and lower-cases the rest, also fully ("İ"
/// becomes "i̇") and with the final-sigma rule (a capital sigma that ends a word becomes "ς"). Characters are code
/// points, as in Python; a lone surrogate passes through unchanged.
/// </summary>
public static class PythonText
{
    /// <summary>Python's str.isspace for one UTF-16 unit: .NET's whitespace plus the separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary>Python's str.strip() (no argument).</summary>
    public static string Strip(string text) => RStrip(LStrip(text));

    /// <summary>Python's str.rstrip() (no argument).</summary>
    public static string RStrip(string text)
    {
        int end = text.Length;
        while (end > 0 && IsSpace(text[end - 1])) end--;
        return text[..end];
    }

    /// <summary>Python's str.lstrip() (no argument).</summary>
    public static string LStrip(string text)
    {
        int start = 0;
        while (start < text.Length && IsSpace(text[start])) start++;
        return text[start..];
    }

    /// <summary>Python's len: the code points of a string (an emoji outside the Basic Multilingual Plane is one).</summary>
    public static int Len(string text)
    {
        int length = text.Length;                       // a valid surrogate pair is one code point, as CodePoints reads it
        for (int i = 0; i + 1 < text.Length; i++)
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1])) { length--; i++; }
        return length;
    }

    /// <summary>Python's str.capitalize (3.8 and later).</summary>
    public static string Capitalize(string text)
    {
        var codePoints = CodePoints(text);
        var result = new StringBuilder(text.Length + 2);
        for (int i = 0; i < codePoints.Length; i++)
            result.Append(i == 0 ? TitleCase(codePoints[0]) : LowerCase(codePoints, i));
        return result.ToString();
    }

    /// <summary>The full title case of one code point (Python's _PyUnicode_ToTitleFull).</summary>
    internal static string TitleCase(int codePoint) =>
        TitleNotUpper.TryGetValue(codePoint, out var title) ? title : Simple(codePoint, upper: true);

    /// <summary>The full lower case of the code point at <paramref name="index"/>, whose neighbours decide a sigma.</summary>
    internal static string LowerCase(IReadOnlyList<int> codePoints, int index) => codePoints[index] switch
    {
        0x0130 => "i\u0307",                                   // SpecialCasing.txt: İ lowers to i + combining dot above
        0x03A3 => IsFinalSigma(codePoints, index) ? "\u03C2" : "\u03C3",
        var c => Simple(c, upper: false),
    };

    /// <summary>
    /// Unicode's Final_Sigma condition as Python applies it: a cased letter before (case-ignorable characters
    /// between skipped), and no cased letter after (likewise).
    /// </summary>
    static bool IsFinalSigma(IReadOnlyList<int> codePoints, int index)
    {
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(codePoints[j])) j--;
        if (j < 0 || !IsCased(codePoints[j])) return false;
        j = index + 1;
        while (j < codePoints.Count && IsCaseIgnorable(codePoints[j])) j++;
        return j == codePoints.Count || !IsCased(codePoints[j]);
    }

    /// <summary>Unicode's Cased property: upper, lower or title case letters, and Other_Uppercase/Other_Lowercase.</summary>
    internal static bool IsCased(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter
        || OtherCased.Any(r => codePoint >= r.First && codePoint <= r.Last);

    /// <summary>Unicode's Case_Ignorable property: marks, format characters, modifier letters and symbols, and the
    /// word-internal punctuation of Word_Break MidLetter, MidNumLet and Single_Quote.</summary>
    internal static bool IsCaseIgnorable(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || WordInternalPunctuation.Contains(codePoint);

    static readonly HashSet<int> WordInternalPunctuation =
    [
        0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55,
        0xFF07, 0xFF0E, 0xFF1A,
    ];

    // Other_Lowercase and Other_Uppercase characters that are not letters of a case category (PropList.txt):
    // ordinal indicators, Roman numerals, circled and squared Latin letters.
    static readonly (int First, int Last)[] OtherCased =
    [
        (0x00AA, 0x00AA), (0x00BA, 0x00BA), (0x2160, 0x217F), (0x24B6, 0x24E9),
        (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189),
    ];

    static string Simple(int codePoint, bool upper)
    {
        if (codePoint is >= 0xD800 and <= 0xDFFF) return ((char)codePoint).ToString();
        // .NET's invariant casing leaves dotless i alone (so Turkish text round-trips); Unicode upper-cases it to I.
        if (upper && codePoint == 0x0131) return "I";
        var rune = new Rune(codePoint);
        return (upper ? Rune.ToUpperInvariant(rune) : Rune.ToLowerInvariant(rune)).ToString();
    }

    static int[] CodePoints(string text)
    {
        var result = new List<int>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result.Add(char.ConvertToUtf32(text[i], text[i + 1]));
                i++;
            }
            else result.Add(text[i]);
        }
        return result.ToArray();
    }

    /// <summary>
    /// Code points whose title case is not their simple upper case: SpecialCasing.txt's full title mappings (ligatures,
    /// ß, Armenian, Greek with iota subscript or accents) and UnicodeData's title-case column where it differs from the
    /// upper case (the Serbo-Croatian digraphs, Georgian letters that title-case to themselves). Listed by
    /// tests/reference/make_casing_reference.py table (Unicode 14, Python 3.11).
    /// </summary>
    static readonly Dictionary<int, string> TitleNotUpper = new()
    {
        [0x00DF] = "\u0053\u0073",
        [0x0149] = "\u02BC\u004E",
        [0x01C4] = "\u01C5",
        [0x01C5] = "\u01C5",
        [0x01C6] = "\u01C5",
        [0x01C7] = "\u01C8",
        [0x01C8] = "\u01C8",
        [0x01C9] = "\u01C8",
        [0x01CA] = "\u01CB",
        [0x01CB] = "\u01CB",
        [0x01CC] = "\u01CB",
        [0x01F0] = "\u004A\u030C",
        [0x01F1] = "\u01F2",
        [0x01F2] = "\u01F2",
        [0x01F3] = "\u01F2",
        [0x0390] = "\u0399\u0308\u0301",
        [0x03B0] = "\u03A5\u0308\u0301",
        [0x0587] = "\u0535\u0582",
        [0x10D0] = "\u10D0",
        [0x10D1] = "\u10D1",
        [0x10D2] = "\u10D2",
        [0x10D3] = "\u10D3",
        [0x10D4] = "\u10D4",
        [0x10D5] = "\u10D5",
        [0x10D6] = "\u10D6",
        [0x10D7] = "\u10D7",
        [0x10D8] = "\u10D8",
        [0x10D9] = "\u10D9",
        [0x10DA] = "\u10DA",
        [0x10DB] = "\u10DB",
        [0x10DC] = "\u10DC",
        [0x10DD] = "\u10DD",
        [0x10DE] = "\u10DE",
        [0x10DF] = "\u10DF",
        [0x10E0] = "\u10E0",
        [0x10E1] = "\u10E1",
        [0x10E2] = "\u10E2",
        [0x10E3] = "\u10E3",
        [0x10E4] = "\u10E4",
        [0x10E5] = "\u10E5",
        [0x10E6] = "\u10E6",
        [0x10E7] = "\u10E7",
        [0x10E8] = "\u10E8",
        [0x10E9] = "\u10E9",
        [0x10EA] = "\u10EA",
        [0x10EB] = "\u10EB",
        [0x10EC] = "\u10EC",
        [0x10ED] = "\u10ED",
        [0x10EE] = "\u10EE",
        [0x10EF] = "\u10EF",
        [0x10F0] = "\u10F0",
        [0x10F1] = "\u10F1",
        [0x10F2] = "\u10F2",
        [0x10F3] = "\u10F3",
        [0x10F4] = "\u10F4",
        [0x10F5] = "\u10F5",
        [0x10F6] = "\u10F6",
        [0x10F7] = "\u10F7",
        [0x10F8] = "\u10F8",
        [0x10F9] = "\u10F9",
        [0x10FA] = "\u10FA",
        [0x10FD] = "\u10FD",
        [0x10FE] = "\u10FE",
        [0x10FF] = "\u10FF",
        [0x1E96] = "\u0048\u0331",
        [0x1E97] = "\u0054\u0308",
        [0x1E98] = "\u0057\u030A",
        [0x1E99] = "\u0059\u030A",
        [0x1E9A] = "\u0041\u02BE",
        [0x1F50] = "\u03A5\u0313",
        [0x1F52] = "\u03A5\u0313\u0300",
        [0x1F54] = "\u03A5\u0313\u0301",
        [0x1F56] = "\u03A5\u0313\u0342",
        [0x1F80] = "\u1F88",
        [0x1F81] = "\u1F89",
        [0x1F82] = "\u1F8A",
        [0x1F83] = "\u1F8B",
        [0x1F84] = "\u1F8C",
        [0x1F85] = "\u1F8D",
        [0x1F86] = "\u1F8E",
        [0x1F87] = "\u1F8F",
        [0x1F88] = "\u1F88",
        [0x1F89] = "\u1F89",
        [0x1F8A] = "\u1F8A",
        [0x1F8B] = "\u1F8B",
        [0x1F8C] = "\u1F8C",
        [0x1F8D] = "\u1F8D",
        [0x1F8E] = "\u1F8E",
        [0x1F8F] = "\u1F8F",
        [0x1F90] = "\u1F98",
        [0x1F91] = "\u1F99",
        [0x1F92] = "\u1F9A",
        [0x1F93] = "\u1F9B",
        [0x1F94] = "\u1F9C",
        [0x1F95] = "\u1F9D",
        [0x1F96] = "\u1F9E",
        [0x1F97] = "\u1F9F",
        [0x1F98] = "\u1F98",
        [0x1F99] = "\u1F99",
        [0x1F9A] = "\u1F9A",
        [0x1F9B] = "\u1F9B",
        [0x1F9C] = "\u1F9C",
        [0x1F9D] = "\u1F9D",
        [0x1F9E] = "\u1F9E",
        [0x1F9F] = "\u1F9F",
        [0x1FA0] = "\u1FA8",
        [0x1FA1] = "\u1FA9",
        [0x1FA2] = "\u1FAA",
        [0x1FA3] = "\u1FAB",
        [0x1FA4] = "\u1FAC",
        [0x1FA5] = "\u1FAD",
        [0x1FA6] = "\u1FAE",
        [0x1FA7] = "\u1FAF",
        [0x1FA8] = "\u1FA8",
        [0x1FA9] = "\u1FA9",
        [0x1FAA] = "\u1FAA",
        [0x1FAB] = "\u1FAB",
        [0x1FAC] = "\u1FAC",
        [0x1FAD] = "\u1FAD",
        [0x1FAE] = "\u1FAE",
        [0x1FAF] = "\u1FAF",
        [0x1FB2] = "\u1FBA\u0345",
        [0x1FB3] = "\u1FBC",
        [0x1FB4] = "\u0386\u0345",
        [0x1FB6] = "\u0391\u0342",
        [0x1FB7] = "\u0391\u0342\u0345",
        [0x1FBC] = "\u1FBC",
        [0x1FC2] = "\u1FCA\u0345",
        [0x1FC3] = "\u1FCC",
        [0x1FC4] = "\u0389\u0345",
        [0x1FC6] = "\u0397\u0342",
        [0x1FC7] = "\u0397\u0342\u0345",
        [0x1FCC] = "\u1FCC",
        [0x1FD2] = "\u0399\u0308\u0300",
        [0x1FD3] = "\u0399\u0308\u0301",
        [0x1FD6] = "\u0399\u0342",
        [0x1FD7] = "\u0399\u0308\u0342",
        [0x1FE2] = "\u03A5\u0308\u0300",
        [0x1FE3] = "\u03A5\u0308\u0301",
        [0x1FE4] = "\u03A1\u0313",
        [0x1FE6] = "\u03A5\u0342",
        [0x1FE7] = "\u03A5\u0308\u0342",
        [0x1FF2] = "\u1FFA\u0345",
        [0x1FF3] = "\u1FFC",
        [0x1FF4] = "\u038F\u0345",
        [0x1FF6] = "\u03A9\u0342",
        [0x1FF7] = "\u03A9\u0342\u0345",
        [0x1FFC] = "\u1FFC",
        [0xFB00] = "\u0046\u0066",
        [0xFB01] = "\u0046\u0069",
        [0xFB02] = "\u0046\u006C",
        [0xFB03] = "\u0046\u0066\u0069",
        [0xFB04] = "\u0046\u0066\u006C",
        [0xFB05] = "\u0053\u0074",
        [0xFB06] = "\u0053\u0074",
        [0xFB13] = "\u0544\u0576",
        [0xFB14] = "\u0544\u0565",
        [0xFB15] = "\u0544\u056B",
        [0xFB16] = "\u054E\u0576",
        [0xFB17] = "\u0544\u056D",
    };
}
