using System.Diagnostics;
using LayerChop.Engine.Chopping.Importance;
using LayerChop.Engine.Inference;
using LayerChop.Engine.Training;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Training;

/// <summary>
/// The collector thread below runs alone, after the parallel tests: test code itself passes implicit Scalars freely.
/// </summary>
[CollectionDefinition(nameof(GarbageCollectionPressure), DisableParallelization = true)]
public sealed class GarbageCollectionPressure;

/// <summary>
/// Scalars handed to TorchSharp must stay referenced until the native call returns (see <see cref="Scalars"/>). This
/// trains, measures and decodes while another thread collects garbage and runs finalizers without pause: a Scalar left
/// unreferenced during a call is freed under libtorch, which shows as libtorch's Scalar.h assert or as a changed number.
/// </summary>
[Collection(nameof(GarbageCollectionPressure))]
public class ScalarLifetimeTests
{
    [Fact]
    public void Training_measuring_and_decoding_give_the_same_numbers_while_finalizers_run_during_native_calls()
    {
        var expected = Run();                                  // also brings the code to its optimised tier
        using var collecting = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!collecting.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(5)) Assert.Equal(expected, Run());
        }
        finally
        {
            collecting.Cancel();
            collector.Join();
        }
    }

    static List<double> Run()
    {
        const int vocab = 64;
        using var model = TestModels.Random(TestModels.Llama(layers: 2, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: vocab), seed: 3);
        model.train();
        using var adam = new AdamW(model.NamedWeights(), AdamW.DecayMatricesOnly);
        using var ids = TestModels.Ids(2, 9, vocab);
        var results = new List<double>();
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            adam.ZeroGrad();
            var logits = model.Forward(ids.narrow(1, 0, 8));
            var loss = Losses.NextTokenLoss(logits, ids.narrow(1, 1, 8)).add(Losses.Distillation(logits, logits.detach().flip(-1), 2.0), Scalars.One);
            loss.backward();
            results.Add(loss.item<float>());
            results.Add(adam.ClipGradNorm(1.0));
            adam.Update(0.01);
        }
        model.eval();
        var calib = CalibrationSet.FromSequences([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
        var scores = CalibrationMeasures.HiddenStates(model, calib, blockSize: 1);
        results.AddRange(scores.BlockInfluence);
        results.AddRange(scores.Angular);
        results.AddRange(Generation.Generate(model, [1, 2, 3], 6, temperature: 0.8, seed: 5).Tokens.Select(t => (double)t));
        return results;
    }
}
