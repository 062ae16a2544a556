namespace LayerChop.Settings;

/// <summary>"Did you mean ...?" for misspelt field names, strategies, tasks and LoRA targets.</summary>
public static class Suggestions
{
    /// <summary>The closest option within a few edits (a third of its length, at least one); null when none is close.</summary>
    public static string? Closest(string word, IEnumerable<string> options)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var option in options)
        {
            int distance = EditDistance(word.ToLowerInvariant(), option.ToLowerInvariant());
            if (distance < bestDistance && distance <= Math.Max(1, option.Length / 3))
            {
                best = option;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>Levenshtein distance, with a swap of two neighbours counted as one edit (the commonest typo).</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
