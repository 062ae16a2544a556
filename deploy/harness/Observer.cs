using System.Net.Http;
using System.Text.Json;
using Npgsql;

namespace LayerChop.FaultHarness;

/// <summary>What the harness saw of one candidate at one moment (from a silo's sweep API).</summary>
public sealed record Sighting(DateTime Utc, string Id, string Status, int Attempt, string? Silo, int? Slot, string? Stage, long? Step);

/// <summary>A membership row's status change, as read from PostgreSQL.</summary>
public sealed record MemberChange(DateTime Utc, string Address, int Port, int Generation, int Status);

/// <summary>
/// Watches a running sweep once a second through any reachable silo's API (GET /api/sweeps/NAME), and the
/// cluster's membership rows in PostgreSQL twice a second; keeps what it saw, with the time it saw it.
/// </summary>
public sealed class Observer(IReadOnlyList<SiloRunner> silos, string connection, string clusterId, string sweep) : IDisposable
{
    readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(2) };
    readonly CancellationTokenSource stop = new();
    readonly Dictionary<(string, int, int), int> members = [];
    Task sweepLoop = Task.CompletedTask, memberLoop = Task.CompletedTask;

    public List<Sighting> Sightings { get; } = [];
    public List<MemberChange> Members { get; } = [];
    /// <summary>The last status document read (null until a silo answered).</summary>
    public JsonElement? Last { get; private set; }

    public void Start()
    {
        sweepLoop = Task.Run(WatchSweep);
        memberLoop = Task.Run(WatchMembers);
    }

    public bool Finished
    {
        get { lock (Sightings) return Last is { } s && s.GetProperty("finished").GetBoolean(); }
    }

    /// <summary>The latest sighting of each candidate.</summary>
    public IReadOnlyDictionary<string, Sighting> Now()
    {
        lock (Sightings) return Sightings.GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.Last());
    }

    /// <summary>GET PATH from the first silo that answers.</summary>
    public async Task<JsonElement?> Get(string path)
    {
        foreach (var silo in silos)
        {
            try
            {
                using var response = await http.GetAsync($"http://{silo.Host.Address}:{SiloRunner.WebPort}{path}", stop.Token);
                if (!response.IsSuccessStatusCode) continue;
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop.Token)).RootElement.Clone();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { }
        }
        return null;
    }

    async Task WatchSweep()
    {
        while (!stop.IsCancellationRequested)
        {
            if (await Get($"/api/sweeps/{sweep}") is { } status)
            {
                var now = DateTime.UtcNow;
                lock (Sightings)
                {
                    Last = status;
                    foreach (var c in status.GetProperty("candidates").EnumerateArray())
                    {
                        var on = c.GetProperty("running_on");
                        var progress = c.GetProperty("progress");
                        Sightings.Add(new Sighting(now, c.GetProperty("id").GetString()!, c.GetProperty("status").GetString()!,
                            on.ValueKind == JsonValueKind.Object ? on.GetProperty("attempt").GetInt32() : 0,
                            on.ValueKind == JsonValueKind.Object ? on.GetProperty("silo").GetString() : null,
                            on.ValueKind == JsonValueKind.Object ? on.GetProperty("slot").GetInt32() : null,
                            progress.ValueKind == JsonValueKind.Object ? progress.GetProperty("stage").GetString() : null,
                            progress.ValueKind == JsonValueKind.Object ? progress.GetProperty("step").GetInt64() : null));
                    }
                }
            }
            try { await Task.Delay(1000, stop.Token); } catch (OperationCanceledException) { return; }
        }
    }

    async Task WatchMembers()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var db = new NpgsqlConnection(connection + ";Timeout=2;Command Timeout=2");
                await db.OpenAsync(stop.Token);
                while (!stop.IsCancellationRequested)
                {
                    await using (var query = new NpgsqlCommand("SELECT address, port, generation, status FROM layerchop_silo WHERE deployment_id = @id", db))
                    {
                        query.Parameters.AddWithValue("id", clusterId);
                        await using var rows = await query.ExecuteReaderAsync(stop.Token);
                        var now = DateTime.UtcNow;
                        while (await rows.ReadAsync(stop.Token))
                        {
                            var key = (rows.GetString(0), rows.GetInt32(1), rows.GetInt32(2));
                            int status = rows.GetInt32(3);
                            lock (Members)
                                if (!members.TryGetValue(key, out int was) || was != status)
                                {
                                    members[key] = status;
                                    Members.Add(new MemberChange(now, key.Item1, key.Item2, key.Item3, status));
                                }
                        }
                    }
                    await Task.Delay(500, stop.Token);
                }
            }
            catch (OperationCanceledException) { return; }
            catch (Exception) { }                                   // the database is down (a fault): look again
            try { await Task.Delay(500, stop.Token); } catch (OperationCanceledException) { return; }
        }
    }

    public async Task StopAsync()
    {
        stop.Cancel();
        await Task.WhenAll(sweepLoop, memberLoop);
    }

    public void Dispose()
    {
        stop.Cancel();
        http.Dispose();
    }
}
