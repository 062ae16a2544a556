using System.Text.Json;
using System.Text.Json.Serialization;

namespace LayerChop.Settings;

/// <summary>
/// The JSON LayerChop writes for people's scripts and between its own processes: every `--json` output, the
/// report's results.json, worker jobs and events, candidate result and record files. snake_case member names
/// (keys that are data, such as task names, stay as they are); a number that is not finite (a diverged
/// perplexity, the standard error of a single question) is written as "NaN", "Infinity" or "-Infinity" and read
/// back as that number, never hidden as null. Formats that belong to others (a Hugging Face config.json) or
/// that are stored in an older shape (training checkpoints' state.json) keep their own.
/// </summary>
public static class JsonFormat
{
    public static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The same on one line (JSON-lines outputs, worker events).</summary>
    public static readonly JsonSerializerOptions Line = new(Indented) { WriteIndented = false };
}
