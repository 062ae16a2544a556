using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Settings;

namespace LayerChop.Specs;

/// <summary>
/// A sweep's output folder belongs to one sweep: the first accepted submission records its name there
/// (<see cref="FileName"/>), and a sweep of another name that names the folder is refused, since its candidates'
/// folders, state file and report would be those of the sweep already there.
/// </summary>
public static class SweepOutput
{
    public const string FileName = "sweep.json";

    sealed record Record(string Sweep, DateTime CreatedUtc);

    /// <summary>The sweep recorded in <paramref name="output"/>; null when none is (a new folder, or one from before such records).</summary>
    /// <exception cref="LayerChopException">the record is there but is not one.</exception>
    public static string? Owner(string output)
    {
        var path = Path.Combine(output, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<Record>(File.ReadAllText(path), JsonFormat.Indented)?.Sweep ?? throw new JsonException("no sweep named"); }
        catch (JsonException e)
        {
            throw new LayerChopException($"output: {path} does not say which sweep the folder holds ({e.Message.Split('\n')[0]}); delete it if the folder is this sweep's");
        }
    }

    /// <summary>The refusal of sweep <paramref name="sweep"/> writing into <paramref name="output"/>, or null when it may.</summary>
    public static string? Refusal(string output, string sweep)
    {
        string? owner;
        try { owner = Owner(output); }
        catch (LayerChopException e) { return e.Message; }
        return owner is not null && owner != sweep
            ? $"output: {output} holds sweep '{owner}' ({FileName}); give sweep '{sweep}' an output folder of its own"
            : null;
    }

    /// <summary>
    /// Creates the folder and records <paramref name="sweep"/> in it unless a record is there; returns the refusal
    /// when another sweep's record is (two sweeps claiming a new folder at once: one wins).
    /// </summary>
    /// <exception cref="LayerChopException">the folder cannot be created or written.</exception>
    public static string? Claim(string output, string sweep)
    {
        try
        {
            Directory.CreateDirectory(output);
            using (var file = new FileStream(Path.Combine(output, FileName), FileMode.CreateNew, FileAccess.Write))
                JsonSerializer.Serialize(file, new Record(sweep, DateTime.UtcNow), JsonFormat.Indented);
            return null;
        }
        catch (IOException) when (File.Exists(Path.Combine(output, FileName)))
        {
            return Refusal(output, sweep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LayerChopException($"output: cannot create the sweep's folder {output}{UserFolder.Why(e)}; give a folder that can be written to");
        }
    }
}
