using System.Net;
using System.Net.Http;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using LayerChop.Grains.Sweeps;
using LayerChop.Interfaces;
using LayerChop.Worker;
using Xunit;

namespace LayerChop.Client.Tests;

/// <summary>The sweep API of a real embedded silo with its web host on, over HTTP.</summary>
public class WebApiTests(TrainingInputs inputs) : IClassFixture<TrainingInputs>
{
    static async Task<(int Status, JsonElement Body)> Get(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement);
    }

    [Fact]
    public async Task The_api_serves_the_cli_json_of_sweeps_fronts_and_candidates_and_answers_bad_requests_with_json_errors_on_loopback_only()
    {
        var silo = await WebSilo.Start(inputs, "web");
        var (web, grains, sweep) = (silo.Web, silo.Grains, silo.Sweep);
        try
        {
            var order = (await sweep.TakeNext(silo.Slot))!;
            var candidate = grains.GetGrain<ICandidateGrain>(order.Lease.Key);
            await candidate.Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Healing });
            await candidate.Report(new HealProgressEvent { Attempt = 1, Step = 1, TotalSteps = 2, Loss = 3.5, TokensPerS = 1500 });
            await candidate.Report(new StageEvent { Attempt = 1, Stage = WorkerStage.Evaluating });
            await candidate.End(1, new AttemptEnd
            {
                Outcome = AttemptOutcome.Succeeded,
                Result = new CandidateResult
                {
                    Params = 1000, Average = 0.5, Perplexity = double.PositiveInfinity, LatencyMsPerToken = 1,
                    Scores = new Dictionary<string, double> { ["continuation"] = 0.5 },
                    ScoreStderrs = new Dictionary<string, double> { ["continuation"] = 0.25 },
                    ScoreCounts = new Dictionary<string, int> { ["continuation"] = 4 },
                },
            });

            using var http = new HttpClient { BaseAddress = new Uri(web.Url) };
            var (status, list) = await Get(http, "/api/sweeps");
            Assert.Equal(200, status);
            Assert.Equal("web", Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());

            var (_, whole) = await Get(http, "/api/sweeps/web");
            Assert.Equal(4, whole.GetProperty("total").GetInt32());
            Assert.Equal(1, whole.GetProperty("counts").GetProperty("completed").GetInt32());
            var candidates = whole.GetProperty("candidates").EnumerateArray().ToList();
            Assert.Equal(4, candidates.Count);
            // The same fields as the CLI's --json, from the same code.
            var done = candidates.Single(c => c.GetProperty("id").GetString() == order.Config.Id);
            var cli = JsonDocument.Parse(JsonSerializer.Serialize(SweepJson.Candidate((await sweep.GetResults()).Single(c => c.Id == order.Config.Id), onFront: false),
                Settings.JsonFormat.Indented)).RootElement;
            Assert.Equal(cli.EnumerateObject().Select(p => p.Name), done.EnumerateObject().Select(p => p.Name));
            Assert.Equal("Infinity", done.GetProperty("perplexity").GetString());

            long revision = whole.GetProperty("revision").GetInt64();
            var (_, none) = await Get(http, $"/api/sweeps/web?since={revision}");
            Assert.Empty(none.GetProperty("candidates").EnumerateArray());
            Assert.Equal(4, none.GetProperty("total").GetInt32());

            var (_, front) = await Get(http, "/api/sweeps/web/front");
            Assert.Equal(order.Config.Id, Assert.Single(front.GetProperty("by_params").EnumerateArray()).GetProperty("id").GetString());
            var (_, shown) = await Get(http, $"/api/sweeps/web/candidates/{order.Config.Id}");
            Assert.Equal("succeeded", Assert.Single(shown.GetProperty("history").EnumerateArray()).GetProperty("outcome").GetString());
            Assert.Equal([1L], shown.GetProperty("loss").GetProperty("steps").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal([1500.0], shown.GetProperty("loss").GetProperty("tokens_per_s").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(["healing", "evaluating", "completed"], shown.GetProperty("changes").EnumerateArray().Select(e => e.GetProperty("status").GetString()));

            foreach (var (path, code) in new[]
            {
                ("/api/sweeps/nope", 404), ("/api/sweeps/nope/front", 404), ("/api/sweeps/nope/candidates/x", 404),
                ("/api/sweeps/web/candidates/r9-nope-h0-s1", 404), ("/api/elsewhere", 404),
                ("/api/sweeps/web?since=abc", 400), ("/api/sweeps/web?since=-1", 400), ("/api/sweeps/web?colour=red", 400),
            })
            {
                var (got, body) = await Get(http, path);
                Assert.True(got == code, $"{path}: {got}, wanted {code}");
                Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetString()), path);
            }

            using (var dashboard = await http.GetAsync("/dashboard/"))
                Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

            // Loopback only: another address of this host is refused.
            var other = NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
            if (other is not null)
            {
                using var probe = new TcpClient();
                await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync(other, web.Port));
            }
        }
        finally
        {
            await silo.Stop();
        }
    }
}
