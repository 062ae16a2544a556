using System.Text.Json;
using System.Text.Json.Serialization;

namespace LayerChop.Worker;

// The protocol between a `layerchop worker` process and the silo that runs it: one JSON object per line on the
// worker's stdout, each one of the event records below, written and read by WorkerProtocol alone. The silo's
// supervisor parses each line and hands the typed event to the candidate grain, which applies it only when its
// attempt is the live one. Every event carries the attempt number the worker was started for.

/// <summary>What a worker is doing; the candidate's status follows it (see <see cref="WorkerProtocol.StatusOf"/>).</summary>
[GenerateSerializer, Alias("layerchop.worker-stage")]
[JsonConverter(typeof(JsonStringEnumConverter<WorkerStage>))]
public enum WorkerStage
{
    /// <summary>Loading the base model, measuring layer importance, removing layers.</summary>
    Chopping = 0,
    Healing = 1,
    /// <summary>Zero-shot tasks and perplexity.</summary>
    Evaluating = 2,
    /// <summary>Size and latency, the last step of an evaluation.</summary>
    Measuring = 3,
}

/// <summary>Why a worker process ended: its exit code. Each side names the code through this enum only.</summary>
public enum WorkerExit
{
    /// <summary>The result event was written.</summary>
    Completed = 0,
    /// <summary>A problem another attempt could not fix (bad input: missing files, a layer list the model cannot take).</summary>
    BadInput = 2,
    /// <summary>An unexpected error in the worker (a bug, or a native failure that surfaced as an exception).</summary>
    InternalError = 70,
    /// <summary>The candidate ran out of memory on its device (see <see cref="Worker.OutOfMemory"/>): another attempt
    /// with the same settings in a slot of the same size would too.</summary>
    OutOfMemory = 71,
    /// <summary>A newer attempt of the same candidate owns its folder: this one stopped without writing anything.</summary>
    Fenced = 75,
    /// <summary>Asked to stop (SIGTERM or SIGINT): it wrote a checkpoint first when it was healing.</summary>
    Stopped = 130,
    /// <summary>The silo that started it went away; the candidate resumes elsewhere from its last checkpoint.</summary>
    SiloGone = 76,
}

/// <summary>Why an attempt failed, as the worker reports it before exiting.</summary>
[GenerateSerializer, Alias("layerchop.failure-kind")]
[JsonConverter(typeof(JsonStringEnumConverter<FailureKind>))]
public enum FailureKind
{
    BadInput = 0,
    Internal = 1,
    /// <summary>A failed allocation: the candidate needs more memory than its slot has with these settings.</summary>
    OutOfMemory = 2,
}

/// <summary>One line of a worker's output.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(StartedEvent), "started")]
[JsonDerivedType(typeof(StageEvent), "stage")]
[JsonDerivedType(typeof(HealProgressEvent), "heal_progress")]
[JsonDerivedType(typeof(EvalProgressEvent), "eval_progress")]
[JsonDerivedType(typeof(CheckpointEvent), "checkpoint")]
[JsonDerivedType(typeof(MessageEvent), "message")]
[JsonDerivedType(typeof(ResultEvent), "result")]
[JsonDerivedType(typeof(FailureEvent), "failure")]
[JsonDerivedType(typeof(StoppedEvent), "stopped")]
[JsonDerivedType(typeof(FencedEvent), "fenced")]
[GenerateSerializer, Alias("layerchop.worker-event")]
public abstract record WorkerEvent
{
    /// <summary>The attempt the worker was started for (its job's attempt).</summary>
    [Id(0)] public int Attempt { get; init; }
}

/// <summary>
/// The worker holds its candidate's folder: no older attempt's worker runs any more. Its times are the worker's
/// own, so the attempt history shows when work really ran.
/// </summary>
[GenerateSerializer, Alias("layerchop.started-event")]
public sealed record StartedEvent : WorkerEvent
{
    [Id(0)] public int Pid { get; init; }
    [Id(1)] public DateTime StartedUtc { get; init; }
    /// <summary>When the previous attempt's worker stopped, by its own record; null when it left none (it was killed).</summary>
    [Id(2)] public DateTime? PreviousStoppedUtc { get; init; }
}

/// <summary>The worker entered a stage.</summary>
[GenerateSerializer, Alias("layerchop.stage-event")]
public sealed record StageEvent : WorkerEvent
{
    [Id(0)] public WorkerStage Stage { get; init; }
}

/// <summary>One optimizer step of healing.</summary>
[GenerateSerializer, Alias("layerchop.heal-progress-event")]
public sealed record HealProgressEvent : WorkerEvent
{
    [Id(0)] public long Step { get; init; }
    [Id(1)] public long TotalSteps { get; init; }
    [Id(2)] public long Tokens { get; init; }
    [Id(3)] public double Loss { get; init; }
    [Id(4)] public double Lr { get; init; }
    [Id(5)] public double TokensPerS { get; init; }
}

/// <summary>Questions scored so far in one evaluation task (at most about once a second).</summary>
[GenerateSerializer, Alias("layerchop.eval-progress-event")]
public sealed record EvalProgressEvent : WorkerEvent
{
    [Id(0)] public string Task { get; init; } = "";
    [Id(1)] public long Done { get; init; }
    [Id(2)] public long Total { get; init; }
}

/// <summary>A healing checkpoint was published in the candidate's folder.</summary>
[GenerateSerializer, Alias("layerchop.checkpoint-event")]
public sealed record CheckpointEvent : WorkerEvent
{
    [Id(0)] public long Step { get; init; }
}

/// <summary>A line for people (a warning, a resume notice).</summary>
[GenerateSerializer, Alias("layerchop.message-event")]
public sealed record MessageEvent : WorkerEvent
{
    [Id(0)] public string Message { get; init; } = "";
}

/// <summary>The candidate's measurements; the worker exits with <see cref="WorkerExit.Completed"/> next.</summary>
[GenerateSerializer, Alias("layerchop.result-event")]
public sealed record ResultEvent : WorkerEvent
{
    [Id(0)] public CandidateResult Result { get; init; } = new();
}

/// <summary>The attempt failed; the worker exits next.</summary>
[GenerateSerializer, Alias("layerchop.failure-event")]
public sealed record FailureEvent : WorkerEvent
{
    [Id(0)] public FailureKind Kind { get; init; }
    /// <summary>One line.</summary>
    [Id(1)] public string Message { get; init; } = "";
}

/// <summary>The worker was asked to stop and did (after a checkpoint, when healing).</summary>
[GenerateSerializer, Alias("layerchop.stopped-event")]
public sealed record StoppedEvent : WorkerEvent
{
    /// <summary>The last checkpoint's step; null when none was written.</summary>
    [Id(0)] public long? CheckpointStep { get; init; }
}

/// <summary>A newer attempt claimed the candidate's folder; this worker stops without publishing anything.</summary>
[GenerateSerializer, Alias("layerchop.fenced-event")]
public sealed record FencedEvent : WorkerEvent
{
    /// <summary>The attempt that owns the folder now.</summary>
    [Id(0)] public int Owner { get; init; }
}

/// <summary>The one writer and reader of worker event lines.</summary>
public static class WorkerProtocol
{
    /// <summary>snake_case, non-finite numbers as "NaN"/"Infinity" (a diverged perplexity is reported as such).</summary>
    public static readonly JsonSerializerOptions Options = new(LayerChop.Settings.JsonFormat.Line) { RespectNullableAnnotations = true };

    public static string Write(WorkerEvent e) => JsonSerializer.Serialize(e, Options);

    /// <summary>The event on one line; null for a line that is not an event (a stray print of a library).</summary>
    /// <exception cref="FormatException">a line that claims to be an event but is not a valid one.</exception>
    public static WorkerEvent? Read(string line)
    {
        var trimmed = line.TrimStart();
        if (!trimmed.StartsWith("{\"event\"", StringComparison.Ordinal)) return null;
        try
        {
            return JsonSerializer.Deserialize<WorkerEvent>(trimmed, Options) ?? throw new FormatException("an empty event");
        }
        catch (JsonException e)
        {
            throw new FormatException($"not a valid worker event ({e.Message}): {Shorten(line)}", e);
        }
        catch (NotSupportedException e)
        {
            throw new FormatException($"unknown worker event: {Shorten(line)}", e);
        }
    }

    /// <summary>The named reason for an exit code; null for a code no worker uses on purpose (a crash).</summary>
    public static WorkerExit? ExitOf(int code) => Enum.IsDefined(typeof(WorkerExit), code) ? (WorkerExit)code : null;

    /// <summary>How <see cref="DescribeExit"/> starts for a process a signal ended (a crash, a kill): the words an attempt's reason carries.</summary>
    public const string KilledBySignal = "killed by signal";

    /// <summary>An exit code in words: its <see cref="WorkerExit"/> name, or the signal that killed the process.</summary>
    public static string DescribeExit(int code)
    {
        if (ExitOf(code) is { } named) return $"{named} (exit code {code})";
        if (code <= 128) return $"exit code {code}";
        int signal = code - 128;
        string name = signal switch
        {
            9 => " (SIGKILL, e.g. out of memory)", 11 => " (SIGSEGV, a native crash)", 6 => " (SIGABRT, a native abort)", 15 => " (SIGTERM)", _ => "",
        };
        return $"{KilledBySignal} {signal}{name}";
    }

    static string Shorten(string line) => line.Length <= 200 ? line : line[..200] + "...";
}
