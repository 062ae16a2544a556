using System.Collections.Concurrent;
using Orleans.Runtime;

namespace LayerChop.Silo.Tests;

// Small grains that exercise the schema through Orleans' real ADO.NET providers.

[GenerateSerializer, Alias("layerchop.tests.value-state")]
public sealed class ValueState
{
    [Id(0)] public int Value { get; set; }
}

[GenerateSerializer, Alias("layerchop.tests.value-view")]
public sealed record ValueView([property: Id(0)] int Value, [property: Id(1)] string? ETag, [property: Id(2)] bool RecordExists);

[Alias("layerchop.tests.IValueGrain")]
public interface IValueGrain : IGrainWithStringKey
{
    Task<ValueView> Read();
    Task Write(int value);
    Task Clear();
}

[Alias("layerchop.tests.ICompoundValueGrain")]
public interface ICompoundValueGrain : IGrainWithGuidCompoundKey
{
    Task<ValueView> Read();
    Task Write(int value);
}

/// <summary>State "value" in the default storage.</summary>
[GrainType("value")]
public class ValueGrain([PersistentState("value")] IPersistentState<ValueState> state) : Grain, IValueGrain, ICompoundValueGrain
{
    public Task<ValueView> Read() => Task.FromResult(new ValueView(state.State.Value, state.Etag, state.RecordExists));

    public async Task Write(int value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
    }

    public Task Clear() => state.ClearStateAsync();
}

/// <summary>
/// Another grain type with the same state name: for the same key it shares ValueGrain's row (the grain
/// type is not part of a state row's identity), which lets a test write behind ValueGrain's back.
/// </summary>
[GrainType("twin")]
public sealed class TwinValueGrain([PersistentState("value")] IPersistentState<ValueState> state) : ValueGrain(state);

/// <summary>
/// The progress state after a rename: the earlier release (tests/Silo.Tests.OldRelease) called it OldName.
/// Same [Alias], same [Id]s, plus a member the earlier release did not have.
/// </summary>
[GenerateSerializer, Alias("layerchop.tests.progress")]
public sealed class RenamedProgress
{
    [Id(0)] public string Phase { get; set; } = "";
    [Id(1)] public long Step { get; set; }
    [Id(2)] public object? Checkpoint { get; set; }
    [Id(3)] public double? Loss { get; set; }
}

/// <summary>Was OldCheckpoint in the earlier release; found again through its [Alias].</summary>
[GenerateSerializer, Alias("layerchop.tests.checkpoint")]
public sealed class RenamedCheckpoint
{
    [Id(0)] public string Path { get; set; } = "";
    [Id(1)] public long Step { get; set; }
}

[GenerateSerializer, Alias("layerchop.tests.progress-view")]
public sealed record ProgressView(
    [property: Id(0)] string Phase,
    [property: Id(1)] long Step,
    [property: Id(2)] string? CheckpointType,
    [property: Id(3)] string? CheckpointPath,
    [property: Id(4)] double? Loss,
    [property: Id(5)] bool RecordExists);

[Alias("layerchop.tests.IProgressGrain")]
public interface IProgressGrain : IGrainWithStringKey
{
    Task<ProgressView> Load();
    Task SetLoss(double loss);
}

[GrainType("progress")]
public sealed class ProgressGrain([PersistentState("progress")] IPersistentState<RenamedProgress> state) : Grain, IProgressGrain
{
    public Task<ProgressView> Load()
    {
        var p = state.State;
        return Task.FromResult(new ProgressView(p.Phase, p.Step, p.Checkpoint?.GetType().Name,
            (p.Checkpoint as RenamedCheckpoint)?.Path, p.Loss, state.RecordExists));
    }

    public Task SetLoss(double loss)
    {
        state.State.Loss = loss;
        return state.WriteStateAsync();
    }
}

[Alias("layerchop.tests.ITickerGrain")]
public interface ITickerGrain : IGrainWithStringKey
{
    Task Start(TimeSpan due, TimeSpan period);
    Task Stop();
}

/// <summary>Counts the ticks of its reminder "tick" in <see cref="Ticks"/>.</summary>
[GrainType("ticker")]
public sealed class TickerGrain : Grain, ITickerGrain, IRemindable
{
    public static readonly ConcurrentDictionary<string, int> Ticks = new();

    public Task Start(TimeSpan due, TimeSpan period) => this.RegisterOrUpdateReminder("tick", due, period);

    public async Task Stop()
    {
        var reminder = await this.GetReminder("tick");
        if (reminder is not null) await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
