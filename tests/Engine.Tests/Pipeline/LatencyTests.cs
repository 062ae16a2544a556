using LayerChop.Worker;

namespace LayerChop.Engine.Tests.Pipeline;

public class LatencyTests
{
    [Fact]
    public void Two_models_of_one_shape_get_the_one_figure_and_another_shape_gets_its_own()
    {
        var book = TestModels.TempFolder();
        using var a = TestModels.Random(TestModels.Llama(layers: 4), seed: 1);
        using var b = TestModels.Random(TestModels.Llama(layers: 4), seed: 2);     // other weights, same architecture
        using var c = TestModels.Random(TestModels.Llama(layers: 2), seed: 1);

        var first = LatencyBook.GetOrMeasure(book, a, 4, 6, gate: null, runs: 5);
        var same = LatencyBook.GetOrMeasure(book, b, 4, 6, gate: null, runs: 5);
        var other = LatencyBook.GetOrMeasure(book, c, 4, 6, gate: null, runs: 5);

        Assert.Equal(first, same);
        Assert.NotEqual(first.Shape, other.Shape);
        Assert.Equal(2, Directory.GetFiles(book, "*.json").Length);
        Assert.Empty(Directory.GetFiles(book, "*.tmp"));
        Assert.True(first.P10MsPerToken <= first.MedianMsPerToken && first.MedianMsPerToken <= first.P90MsPerToken);
        Assert.Equal(5, first.Runs);
        Assert.StartsWith("cpu: ", first.Device);
    }

    [Fact]
    public void Quantiles_interpolate_between_order_statistics()
    {
        double[] samples = [5, 1, 4, 2, 3];
        Assert.Equal(3, LatencyMeter.Quantile(samples, 0.5));
        Assert.Equal(1.4, LatencyMeter.Quantile(samples, 0.1), 12);
        Assert.Equal(4.6, LatencyMeter.Quantile(samples, 0.9), 12);
    }

    [Fact]
    public async Task A_measurement_waits_until_every_computing_worker_reaches_a_step_boundary_and_they_wait_for_it()
    {
        Environment.SetEnvironmentVariable("LAYERCHOP_HOST_LOCKS", TestModels.TempFolder());
        try
        {
            using var worker = HostComputeGate.EnterShared();        // a worker in the middle of a step
            using var measurer = HostComputeGate.EnterShared();
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var measuring = Task.Run(() => measurer.Exclusive(() => log.Enqueue("measured")));
            await Task.Delay(300);
            Assert.Empty(log);                                        // the worker's step is not over
            log.Enqueue("step ends");
            var nextStep = Task.Run(() => { worker.Yield(); log.Enqueue("next step"); });
            await measuring.WaitAsync(TimeSpan.FromSeconds(10));
            await nextStep.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["step ends", "measured", "next step"], log);
        }
        finally { Environment.SetEnvironmentVariable("LAYERCHOP_HOST_LOCKS", null); }
    }
}
