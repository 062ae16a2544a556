using System.Text;

namespace LayerChop.Engine.Tokenization;

/// <summary>
/// SentencePiece BPE (tokenizer.model of Llama-2, Mistral, Gemma), written to match the sentencepiece library
/// id for id. Microsoft.ML.Tokenizers' LlamaTokenizer was the first choice, but it breaks ties between pairs of
/// equal score differently from sentencepiece (it merges the right pair of "$$$" first), which changed the ids
/// of about one string in ten of a mixed-text sample; sentencepiece and Hugging Face both take the leftmost pair.
/// Supported: model_type BPE, the identity normalizer (no precompiled charsmap), add_dummy_prefix,
/// remove_extra_whitespaces, escape_whitespaces, user-defined symbols, byte_fallback.
/// Not supported: treat_whitespace_as_suffix, Unigram models, charsmap normalizers (such files are rejected).
/// </summary>
internal sealed class SentencePieceBpeModel
{
    private const char Whitespace = '\u2581'; // ▁

    private enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    private readonly string[] _pieces;
    private readonly PieceType[] _types;
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _mergeable; // normal + user-defined pieces: what merges may produce
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _mergeableSpan;
    private readonly Dictionary<string, int> _all;
    private readonly string[] _userDefined; // longest first
    private readonly int[] _byteIds; // -1 where the model has no <0xXX> piece
    private readonly int[] _byteValue; // per id: the byte of a <0xXX> piece, else -1
    private readonly bool _byteFallback;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly string _unknownSurface;

    private SentencePieceBpeModel(
        string[] pieces, PieceType[] types, float[] scores, bool byteFallback, bool addDummyPrefix,
        bool removeExtraWhitespaces, bool escapeWhitespaces, int unkId, int bosId, int eosId, string unknownSurface)
    {
        _pieces = pieces;
        _types = types;
        _scores = scores;
        _byteFallback = byteFallback;
        _addDummyPrefix = addDummyPrefix;
        _removeExtraWhitespaces = removeExtraWhitespaces;
        _escapeWhitespaces = escapeWhitespaces;
        _unknownSurface = unknownSurface;
        UnknownId = unkId;
        BosId = bosId;
        EosId = eosId;

        _mergeable = new Dictionary<string, int>(StringComparer.Ordinal);
        _all = new Dictionary<string, int>(StringComparer.Ordinal);
        _byteIds = new int[256];
        Array.Fill(_byteIds, -1);
        _byteValue = new int[pieces.Length];
        Array.Fill(_byteValue, -1);
        var userDefined = new List<string>();
        for (int id = 0; id < pieces.Length; id++)
        {
            _all.TryAdd(pieces[id], id);
            switch (types[id])
            {
                case PieceType.Normal:
                    _mergeable.TryAdd(pieces[id], id);
                    break;
                case PieceType.UserDefined:
                    _mergeable.TryAdd(pieces[id], id);
                    userDefined.Add(pieces[id]);
                    break;
                case PieceType.Byte:
                    if (pieces[id].Length == 6 && pieces[id].StartsWith("<0x", StringComparison.Ordinal) && pieces[id][5] == '>'
                        && byte.TryParse(pieces[id].AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                    {
                        _byteIds[b] = id;
                        _byteValue[id] = b;
                    }
                    break;
            }
        }
        _mergeableSpan = _mergeable.GetAlternateLookup<ReadOnlySpan<char>>();
        _userDefined = userDefined.Where(u => u.Length > 0).OrderByDescending(u => u.Length).ToArray();
    }

    public int VocabSize => _pieces.Length;
    public int UnknownId { get; }
    public int BosId { get; }
    public int EosId { get; }

    public int? PieceToId(string piece) => _all.TryGetValue(piece, out int id) ? id : null;

    public void Encode(string text, List<int> output)
    {
        string normalized = Normalize(text);
        if (normalized.Length == 0)
        {
            return;
        }

        // Initial symbols: user-defined pieces (longest match) or single code points.
        var symbols = new List<Symbol>(normalized.Length);
        for (int i = 0; i < normalized.Length;)
        {
            int length = 0;
            bool frozen = false;
            foreach (string u in _userDefined)
            {
                if (string.CompareOrdinal(normalized, i, u, 0, u.Length) == 0)
                {
                    length = u.Length;
                    frozen = true;
                    break;
                }
            }
            if (length == 0)
            {
                length = char.IsSurrogatePair(normalized, i) ? 2 : 1;
            }
            symbols.Add(new Symbol(i, length, symbols.Count - 1, symbols.Count + 1, frozen));
            i += length;
        }
        symbols[^1] = symbols[^1] with { Next = -1 };

        // Agenda: highest score first, then the leftmost pair (sentencepiece's order).
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float NegScore, int Left)>();
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            TryAddPair(i, i + 1);
        }
        while (agenda.TryDequeue(out (int Left, int Right, int Length) pair, out _))
        {
            Symbol left = symbols[pair.Left];
            Symbol right = symbols[pair.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != pair.Length || left.Next != pair.Right)
            {
                continue; // one side was merged away since this pair was queued
            }
            symbols[pair.Left] = left with { Length = pair.Length, Next = right.Next };
            symbols[pair.Right] = right with { Length = 0 };
            if (right.Next >= 0)
            {
                symbols[right.Next] = symbols[right.Next] with { Prev = pair.Left };
            }
            if (left.Prev >= 0)
            {
                TryAddPair(left.Prev, pair.Left);
            }
            if (right.Next >= 0)
            {
                TryAddPair(pair.Left, right.Next);
            }
        }

        bool previousUnknown = false;
        Span<byte> utf8 = stackalloc byte[8]; // an unmergeable symbol is one code point (user-defined ones are in the vocabulary)
        for (int i = 0; i >= 0 && i < symbols.Count; i = symbols[i].Next)
        {
            Symbol s = symbols[i];
            ReadOnlySpan<char> piece = normalized.AsSpan(s.Start, s.Length);
            if (_mergeableSpan.TryGetValue(piece, out int id))
            {
                output.Add(id);
                previousUnknown = false;
            }
            else if (_byteFallback)
            {
                int n = Encoding.UTF8.GetBytes(piece, utf8);
                for (int k = 0; k < n; k++)
                {
                    output.Add(_byteIds[utf8[k]] >= 0 ? _byteIds[utf8[k]] : UnknownId);
                }
                previousUnknown = false;
            }
            else if (!previousUnknown)
            {
                output.Add(UnknownId); // sentencepiece folds a run of unknown symbols into one <unk>
                previousUnknown = true;
            }
        }

        void TryAddPair(int left, int right)
        {
            if (symbols[left].Frozen || symbols[right].Frozen)
            {
                return;
            }
            int length = symbols[left].Length + symbols[right].Length;
            if (_mergeableSpan.TryGetValue(normalized.AsSpan(symbols[left].Start, length), out int id)
                && _types[id] == PieceType.Normal)
            {
                agenda.Enqueue((left, right, length), (-_scores[id], left));
            }
        }
    }

    public string Decode(IEnumerable<int> ids)
    {
        var text = new StringBuilder();
        var pendingBytes = new List<byte>();
        bool first = true; // the first text piece loses the space that add_dummy_prefix put there
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_pieces.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in the vocabulary (size {VocabSize}).");
            }
            if (_byteValue[id] >= 0)
            {
                pendingBytes.Add((byte)_byteValue[id]);
                continue;
            }
            FlushBytes();
            switch (_types[id])
            {
                case PieceType.Control:
                    text.Append(_pieces[id]);
                    break;
                case PieceType.Unknown:
                    text.Append(_unknownSurface);
                    first = false;
                    break;
                default:
                    string piece = _escapeWhitespaces ? _pieces[id].Replace(Whitespace, ' ') : _pieces[id];
                    if (first && _addDummyPrefix && piece.StartsWith(' '))
                    {
                        piece = piece[1..];
                    }
                    text.Append(piece);
                    first = false;
                    break;
            }
        }
        FlushBytes();
        return text.ToString();

        void FlushBytes()
        {
            if (pendingBytes.Count == 0)
            {
                return;
            }
            string s = Encoding.UTF8.GetString(pendingBytes.ToArray());
            if (first && _addDummyPrefix && s.StartsWith(' '))
            {
                s = s[1..];
            }
            text.Append(s);
            pendingBytes.Clear();
            first = false;
        }
    }

    private string Normalize(string text)
    {
        if (_removeExtraWhitespaces)
        {
            var collapsed = new StringBuilder(text.Length);
            foreach (char c in text.AsSpan().Trim(' '))
            {
                if (c != ' ' || collapsed.Length == 0 || collapsed[^1] != ' ')
                {
                    collapsed.Append(c);
                }
            }
            text = collapsed.ToString();
        }
        if (text.Length == 0)
        {
            return text;
        }
        if (_addDummyPrefix)
        {
            text = " " + text;
        }
        return _escapeWhitespaces ? text.Replace(' ', Whitespace) : text;
    }

    private readonly record struct Symbol(int Start, int Length, int Prev, int Next, bool Frozen);

    // ---------------------------------------------------------------- loading (protobuf, sentencepiece_model.proto)

    public static SentencePieceBpeModel Load(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException($"{path}: cannot be read ({ByteLevelBpeModel.FirstLine(e.Message)})", e);
        }
        try
        {
            return Parse(data, path);
        }
        catch (FormatException e)
        {
            throw new TokenizerLoadException($"{path}: not a SentencePiece model ({e.Message})", e);
        }
    }

    private static SentencePieceBpeModel Parse(byte[] data, string path)
    {
        var pieces = new List<string>();
        var types = new List<PieceType>();
        var scores = new List<float>();
        int modelType = 1; // UNIGRAM by default
        bool byteFallback = false, addDummyPrefix = true, removeExtra = true, escape = true, suffix = false;
        int unkId = 0, bosId = 1, eosId = 2;
        string unknownSurface = " \u2047 ";
        string normalizerName = "";
        int charsmapLength = 0;

        var top = new ProtoReader(data);
        while (top.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1 when wire == 2: // SentencePiece
                    var p = new ProtoReader(top.Bytes());
                    string piece = "";
                    float score = 0;
                    var type = PieceType.Normal;
                    while (p.Next(out int f, out int w))
                    {
                        if (f == 1 && w == 2) piece = Encoding.UTF8.GetString(p.Bytes());
                        else if (f == 2 && w == 5) score = p.Float();
                        else if (f == 3 && w == 0) type = (PieceType)p.Varint();
                        else p.Skip(w);
                    }
                    pieces.Add(piece);
                    scores.Add(score);
                    types.Add(type);
                    break;
                case 2 when wire == 2: // TrainerSpec
                    var t = new ProtoReader(top.Bytes());
                    while (t.Next(out int f, out int w))
                    {
                        switch (f)
                        {
                            case 3 when w == 0: modelType = (int)t.Varint(); break;
                            case 24 when w == 0: suffix = t.Varint() != 0; break;
                            case 35 when w == 0: byteFallback = t.Varint() != 0; break;
                            case 40 when w == 0: unkId = (int)t.Varint(); break;
                            case 41 when w == 0: bosId = (int)t.Varint(); break;
                            case 42 when w == 0: eosId = (int)t.Varint(); break;
                            case 44 when w == 2: unknownSurface = Encoding.UTF8.GetString(t.Bytes()); break;
                            default: t.Skip(w); break;
                        }
                    }
                    break;
                case 3 when wire == 2: // NormalizerSpec
                    var n = new ProtoReader(top.Bytes());
                    while (n.Next(out int f, out int w))
                    {
                        switch (f)
                        {
                            case 1 when w == 2: normalizerName = Encoding.UTF8.GetString(n.Bytes()); break;
                            case 2 when w == 2: charsmapLength = n.Bytes().Length; break;
                            case 3 when w == 0: addDummyPrefix = n.Varint() != 0; break;
                            case 4 when w == 0: removeExtra = n.Varint() != 0; break;
                            case 5 when w == 0: escape = n.Varint() != 0; break;
                            default: n.Skip(w); break;
                        }
                    }
                    break;
                default:
                    top.Skip(wire);
                    break;
            }
        }

        if (pieces.Count == 0)
        {
            throw new TokenizerLoadException($"{path}: not a SentencePiece model (no pieces)");
        }
        if (modelType != 2)
        {
            string name = modelType switch { 1 => "UNIGRAM", 3 => "WORD", 4 => "CHAR", _ => modelType.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            throw new TokenizerLoadException($"{path}: SentencePiece model_type {name} is not supported (only BPE)");
        }
        if (charsmapLength > 0)
        {
            throw new TokenizerLoadException(
                $"{path}: SentencePiece normalizer \"{normalizerName}\" with a precompiled charsmap is not supported (only identity)");
        }
        if (suffix)
        {
            throw new TokenizerLoadException($"{path}: SentencePiece treat_whitespace_as_suffix is not supported");
        }
        int Checked(int id) => id >= 0 && id < pieces.Count ? id : -1;
        return new SentencePieceBpeModel(
            pieces.ToArray(), types.ToArray(), scores.ToArray(), byteFallback, addDummyPrefix, removeExtra, escape,
            Checked(unkId), Checked(bosId), Checked(eosId), unknownSurface);
    }

    /// <summary>Just enough of the protobuf wire format to read sentencepiece_model.proto.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public bool Next(out int field, out int wire)
        {
            if (_pos >= _data.Length)
            {
                field = wire = 0;
                return false;
            }
            ulong key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            if (field == 0)
            {
                throw new FormatException("field number 0");
            }
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length)
                {
                    throw new FormatException("truncated varint");
                }
                byte b = _data[_pos++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }
            throw new FormatException("varint longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            if (length > (ulong)(_data.Length - _pos))
            {
                throw new FormatException("length-delimited field runs past the end");
            }
            ReadOnlySpan<byte> slice = _data.Slice(_pos, (int)length);
            _pos += (int)length;
            return slice;
        }

        public float Float()
        {
            if (_pos + 4 > _data.Length)
            {
                throw new FormatException("truncated float");
            }
            float f = BitConverter.ToSingle(_data.Slice(_pos, 4));
            _pos += 4;
            return f;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new FormatException($"unsupported wire type {wire}");
            }
        }

        private void Advance(int n)
        {
            if (_pos + n > _data.Length)
            {
                throw new FormatException("truncated field");
            }
            _pos += n;
        }
    }
}
