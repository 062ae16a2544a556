using LayerChop.Engine.Memory;
using LayerChop.Engine.Modeling;
using LayerChop.Settings;

namespace LayerChop.Engine.Tests.Memory;

public class MemoryModelTests
{
    // Llama-3.1-8B's and Llama-3.2-1B's published shapes.
    static readonly ModelConfig Llama8B = ModelConfig.CreateLlama(32, 4096, 32, 8, 14336, 128256, 131072);
    static readonly ModelConfig Llama1B = ModelConfig.CreateLlama(16, 2048, 32, 8, 8192, 128256, 131072, tieEmbeddings: true);

    static HealShape Shape(TrainSettings train, HealMethod method = HealMethod.Pretrain) =>
        new() { Train = train, Method = method, MicroBatch = train.MicroBatchSize };

    static long Term(StageMemory stage, string name) => stage.Terms.Single(t => t.Name == name).Bytes;

    [Fact]
    public void Full_healing_in_float32_holds_16_bytes_per_parameter_before_activations_as_ZeRO_counts()
    {
        Assert.Equal(8_030_261_248, Llama8B.TotalParams);                                  // the published count
        var heal = MemoryModel.Heal(Llama8B, Shape(new TrainSettings { SeqLen = 2048, BatchTokens = 2048 }));
        long state = Term(heal, "weights") + Term(heal, "gradients") + Term(heal, "AdamW moments");
        Assert.Equal(16 * Llama8B.TotalParams, state);
        // bf16 compute: 2 + 2 + 4 (float32 masters) + 8 = the same 16 bytes, held differently.
        var bf16 = MemoryModel.Heal(Llama8B, Shape(new TrainSettings { SeqLen = 2048, BatchTokens = 2048, Precision = "bf16" }));
        Assert.Equal(16 * Llama8B.TotalParams, Term(bf16, "weights") + Term(bf16, "gradients") + Term(bf16, "AdamW moments") + Term(bf16, "float32 master weights"));
        Assert.True(heal.Bytes > state, "activations and the runtime come on top");
    }

    [Fact]
    public void Checkpointing_keeps_a_layer_input_per_layer_instead_of_its_activations_and_LoRA_trains_only_adapters()
    {
        var train = new TrainSettings { SeqLen = 4096, BatchTokens = 8192, MicroBatch = 2, Precision = "bf16" };
        var full = MemoryModel.Heal(Llama1B, Shape(train));
        var recomputed = MemoryModel.Heal(Llama1B, Shape(train with { ActivationCheckpointing = true }));
        var lora = MemoryModel.Heal(Llama1B, Shape(train, HealMethod.Lora));
        Assert.Equal(16L * 8192 * 2048 * 2, Term(recomputed, "kept layer inputs"));         // layers x tokens x hidden x bf16
        Assert.True(Term(full, "activations") > 10 * Term(recomputed, "kept layer inputs"));
        Assert.True(recomputed.Bytes < full.Bytes && lora.Bytes < full.Bytes);
        // Rank 16 on all seven linear layers of 16 layers: 16 x 16 x (in + out) summed over the seven.
        long perLayer = 16L * ((2048 + 2048) + 2 * (2048 + 512) + (2048 + 2048) + 2 * (2048 + 8192) + (8192 + 2048));
        Assert.Equal(16 * perLayer * 8, Term(lora, "AdamW moments"));
        Assert.Equal(Llama1B.TotalParams * 2, Term(lora, "frozen weights"));
    }

    [Fact]
    public void The_loss_of_a_large_vocabulary_is_planned_for_one_slice_of_tokens_not_the_whole_micro_batch()
    {
        var train = new TrainSettings { SeqLen = 4096, BatchTokens = 8192, MicroBatch = 2 };
        var heal = MemoryModel.Heal(Llama1B, Shape(train));
        long slice = LayerChop.Engine.Training.Losses.LogitsSliceBytes / (128256 * 4);               // 523 tokens
        Assert.Equal(slice * 128256L * 16, Term(heal, "logits and loss"));
        Assert.True(Term(heal, "logits and loss") < 8192L * 128256 * 4, "less than one float32 copy of the whole logits");
    }

    [Fact]
    public void A_candidates_peak_is_its_largest_stage_and_a_chop_by_placement_streams_one_tensor_at_a_time()
    {
        var plan = CandidateMemory.Of("c", Llama8B with { TorchDtype = "bfloat16" }, new PlacementChop { Placement = "input", Remove = 16 }, 1_000_000,
            new HealShape { Train = new TrainSettings(), MicroBatch = 8 }, new EvalSettings(), new LatencySettings(), 128);
        Assert.Equal(["chop", "heal", "eval", "latency"], plan.Stages.Select(s => s.Stage));
        Assert.Equal(plan.Stages.Max(s => s.Bytes), plan.PeakBytes);
        Assert.Equal("heal", plan.PeakStage);
        var chop = plan.Stages[0];
        Assert.True(chop.Bytes < 2L << 30, $"a streamed chop of an 8B model is planned at {chop.Bytes} bytes, not its 16 GB of weights");
        Assert.Equal(128256L * 4096 * 2, Term(chop, "largest tensor"));                     // the bf16 embedding
    }
}
