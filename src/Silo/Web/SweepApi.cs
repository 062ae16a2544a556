using System.Text.Json;
using LayerChop.Engine;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Settings;
using LayerChop.Specs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LayerChop.Silo.Web;

/// <summary>Where a silo's web host listens; off unless given.</summary>
public sealed record WebOptions
{
    public required int Port { get; init; }
    /// <summary>The address to listen on: loopback unless the operator says otherwise.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    public string Url => $"http://{(Bind.Contains(':') ? $"[{Bind}]" : Bind)}:{Port}";

    /// <summary>The web port and address after the checks a user's values get, each named as the user gave it.</summary>
    /// <param name="portSource">how an error names the port: "--web 80", "LAYERCHOP_WEB=80".</param>
    public static WebOptions Checked(int port, string bind, string portSource, string bindSource)
    {
        if (port is < 1 or > 65535) throw new LayerChopException($"{portSource}: give a port between 1 and 65535");
        if (!System.Net.IPAddress.TryParse(bind, out var address)) throw new LayerChopException($"{bindSource} is not an IP address");
        if (!SiloSetup.CanListenOn(address, port)) throw new LayerChopException($"{portSource} is already in use on this host; give a free port");
        return new WebOptions { Port = port, Bind = bind };
    }
}

/// <summary>
/// The sweep API of a silo's web host, read-only JSON in the shapes of the CLI's `--json` (<see cref="SweepJson"/>):
/// <list type="bullet">
/// <item>GET /api/sweeps: every sweep with its counts (as `sweep list --json`)</item>
/// <item>GET /api/sweeps/NAME[?since=REVISION]: counts and candidates, or those changed since a revision (as `sweep status --json`)</item>
/// <item>GET /api/sweeps/NAME/front: both Pareto fronts (as `sweep front --json`)</item>
/// <item>GET /api/sweeps/NAME/candidates/ID: one candidate's attempts, loss curve and scores (as `sweep show --json`)</item>
/// </list>
/// An unknown sweep or candidate is 404 and a malformed query 400, each with a body {"error": "..."}.
/// </summary>
public static class SweepApi
{
    public static void MapSweepApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/sweeps", async (IGrainFactory grains) =>
        {
            var rows = new List<Dictionary<string, object?>>();
            foreach (var name in await grains.GetGrain<ISweepIndexGrain>(0).GetAll())
                if (await grains.GetGrain<ISweepGrain>(name).GetStatus(long.MaxValue) is { } status) rows.Add(SweepJson.Overview(status));
            return Json(rows);
        });
        api.MapGet("/sweeps/{name}", async (string name, HttpRequest request, IGrainFactory grains) =>
        {
            long since = 0;
            if (request.Query.TryGetValue("since", out var text) && (!long.TryParse(text, out since) || since < 0))
                return Error(400, $"since must be a revision (a whole number, 0 or more), not '{text}'");
            var unknown = request.Query.Keys.Where(k => k != "since").ToList();
            if (unknown.Count > 0) return Error(400, $"unknown query parameter '{unknown[0]}'; this takes only since");
            var sweep = grains.GetGrain<ISweepGrain>(name);
            return await sweep.GetStatus(since) is { } status
                ? Json(SweepJson.Status(status, await sweep.GetFront())) : NoSuchSweep(name);
        });
        api.MapGet("/sweeps/{name}/front", async (string name, IGrainFactory grains) =>
        {
            var sweep = grains.GetGrain<ISweepGrain>(name);
            return await sweep.GetSpec() is null ? NoSuchSweep(name) : Json(SweepJson.Front(await sweep.GetFront()));
        });
        api.MapGet("/sweeps/{name}/candidates/{id}", async (string name, string id, IGrainFactory grains) =>
        {
            var spec = await grains.GetGrain<ISweepGrain>(name).GetSpec();
            if (spec is null) return NoSuchSweep(name);
            var config = SweepGrid.Find(spec, id);
            if (config is null) return Error(404, $"sweep '{name}' has no candidate '{id}'");
            var state = await grains.GetGrain<ICandidateGrain>(SweepKeys.Candidate(name, id)).GetState()
                ?? new CandidateState { Sweep = name, Config = config, Status = CandidateStatus.Pending };
            return Json(SweepJson.Detail(spec, state, SweepJson.OnFront(await grains.GetGrain<ISweepGrain>(name).GetFront()).Contains(id)));
        });
        api.MapFallback(() => Error(404, "no such API path; see /api/sweeps"));
    }

    /// <summary>Answers a failure the API did not foresee (a cluster that cannot answer) with 503 and a JSON body, never a bare 500.</summary>
    public static void UseJsonErrors(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try { await next(context); }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            context.Response.Clear();
            await Error(503, $"the cluster could not answer: {e.GetType().Name}: {e.Message.Split('\n')[0]}").ExecuteAsync(context);
        }
    });

    static IResult NoSuchSweep(string name) => Error(404, $"no sweep named '{name}'");

    static IResult Error(int status, string message) =>
        Results.Text(JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = message }, JsonFormat.Indented), "application/json", statusCode: status);

    static IResult Json(object value) => Results.Text(JsonSerializer.Serialize(value, JsonFormat.Indented), "application/json");
}
