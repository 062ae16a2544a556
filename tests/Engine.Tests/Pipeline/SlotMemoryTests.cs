using LayerChop.Engine.Memory;
using LayerChop.Settings;
using LayerChop.Worker;
using TorchSharp;

namespace LayerChop.Engine.Tests.Pipeline;

public sealed class SlotMemoryTests
{
    const long Gib = 1L << 30;

    [Fact]
    public void A_gpu_slot_has_the_total_memory_nvidia_smi_reports_for_its_device_in_mib()
    {
        // Captured from `nvidia-smi --query-gpu=index,memory.total --format=csv,noheader,nounits` on a host with an H100 and an H200.
        var totals = SlotMemory.ParseGpuTotals("0, 81559\n1, 143771\n");
        Assert.Equal(81559L * 1024 * 1024, totals[0]);
        Assert.Equal(143771L * 1024 * 1024, totals[1]);
        Assert.Equal("79.6 GiB", SlotMemory.Describe(totals[0]));
        Assert.Equal("unknown", SlotMemory.Describe(null));
        Assert.Empty(SlotMemory.ParseGpuTotals("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"));
    }

    [Fact]
    public void A_cpu_slot_has_its_configured_gib_or_else_an_equal_share_of_the_hosts_ram()
    {
        // Captured from /proc/meminfo.
        Assert.Equal(24_567_890L * 1024, SlotMemory.ParseMemTotal("MemTotal:       24567890 kB\nMemFree:         1234567 kB\n"));
        Assert.Null(SlotMemory.ParseMemTotal("MemFree:         1234567 kB\n"));

        Assert.Equal([(long)(0.002 * Gib), (long)(0.002 * Gib)], SlotMemory.ForSlots([], cpuSlots: 2, cpuSlotGib: 0.002));
        var host = SlotMemory.HostBytes();
        Assert.NotNull(host);
        Assert.Equal([host / 4, host / 4, host / 4, host / 4], SlotMemory.ForSlots([], cpuSlots: 4));
        Assert.Empty(SlotMemory.ForSlots([], cpuSlots: 0));
        // A device nvidia-smi does not list has no known memory: its slot takes any work.
        Assert.Equal([null], SlotMemory.ForSlots([7], cpuSlots: 1));
    }

    [Fact]
    public void A_failed_cpu_allocation_counts_as_out_of_memory_and_its_line_names_stage_plan_device_and_what_lowers_the_need()
    {
        var failed = Assert.ThrowsAny<Exception>(() => { using var huge = torch.empty(1L << 50, dtype: torch.float32); });
        Assert.True(OutOfMemory.Is(failed), $"{failed.GetType().Name}: {failed.Message}");
        Assert.True(OutOfMemory.Is(new System.Runtime.InteropServices.ExternalException(
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.06 GiB is free.")));
        Assert.False(OutOfMemory.Is(new LayerChopException("corpus.jsonl: no such file")));

        var job = new CandidateJob { Id = "r4-input-h50M-pretrain-s1", BaseModel = "/models/base", WorkDir = "/sweeps/x", HealTokens = 50_000_000 };
        var plan = new CandidateMemory(job.Id, [new StageMemory("heal", [new MemoryTerm("weights", (long)(81.2 * Gib), "")]), new StageMemory("eval", [])]);
        Assert.Equal(
            "out of memory in healing: the plan predicts 81.2 GiB for this candidate's healing, the device has 79.6 GiB; "
            + "lower train.micro_batch, set train.activation_checkpointing: true or heal with heal_method: lora",
            OutOfMemory.Describe(WorkerStage.Healing, plan, 81559L * 1024 * 1024, OutOfMemory.Remedies(job, WorkerStage.Healing)));
        Assert.StartsWith("out of memory in measuring: the plan predicts 81.2 GiB for this candidate, ",
            OutOfMemory.Describe(WorkerStage.Measuring, plan, null, []));
        // Only the settings that are not already as low as they go are named.
        var lean = job with { HealMethod = HealMethod.Lora, Train = new TrainSettings { MicroBatch = 1, ActivationCheckpointing = true } };
        Assert.Empty(OutOfMemory.Remedies(lean, WorkerStage.Healing));
        Assert.EndsWith("; run it on a slot with more memory", OutOfMemory.Describe(WorkerStage.Healing, null, null, []));
        Assert.Equal(["lower eval.batch_size"], OutOfMemory.Remedies(job, WorkerStage.Evaluating));
    }
}
