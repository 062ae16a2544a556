using LayerChop.Specs;

namespace LayerChop.Grains.Tests;

public sealed class SweepSpecDiffTests : IDisposable
{
    readonly SpecFolder folder = new();

    public void Dispose() => folder.Dispose();

    SweepSpec Example => folder.ReadYaml(SpecFolder.ExampleYaml);

    [Fact]
    public void Equal_specs_have_no_differences()
    {
        Assert.Empty(SweepSpecDiff.Between(Example, Example));
        Assert.Null(SweepSpecDiff.Refusal(Example, Example));
    }

    [Fact]
    public void Every_differing_field_is_named_by_its_spec_path_with_both_values()
    {
        var changed = Example with
        {
            Train = Example.Train with { Lr = 1e-3 },
            Eval = Example.Eval with { Limit = null },
            Data = ["/other.jsonl"],
        };

        Assert.Equal(
        [
            new SpecDifference("data", $"[\"{folder.PathOf("corpus/train.jsonl")}\"]", "[\"/other.jsonl\"]"),
            new SpecDifference("eval.limit", "500", "none"),
            new SpecDifference("train.lr", "0.0003", "0.001"),
        ], SweepSpecDiff.Between(Example, changed));
    }

    [Fact]
    public void A_field_added_to_a_settings_record_is_compared_without_a_list_to_edit()
    {
        var changed = Example with { Train = Example.Train with { Beta2 = 0.99 }, Retention = LayerChop.Settings.Retention.All };

        Assert.Equal(["train.beta2", "retention"], SweepSpecDiff.Between(Example, changed).Select(d => d.Field));
    }

    [Fact]
    public void A_resubmission_may_grow_the_grid_and_change_max_attempts()
    {
        var grown = Example with
        {
            Grid = Example.Grid with { Remove = [0, 4, 8, 12, 14], Strategy = ["max-gap", "input", "layers:1,3"] },
            MaxAttempts = 7,
        };

        Assert.Equal(["grid.remove", "grid.strategy", "max_attempts"], SweepSpecDiff.Between(Example, grown).Select(d => d.Field));
        Assert.Empty(SweepSpecDiff.Refused(Example, grown));
        Assert.Null(SweepSpecDiff.Refusal(Example, grown));
    }

    [Fact]
    public void A_resubmission_may_change_the_settings_that_lower_a_candidates_memory_need_and_they_are_named_as_such()
    {
        var smaller = Example with
        {
            Train = Example.Train with { MicroBatch = 1, ActivationCheckpointing = true },
            Eval = Example.Eval with { BatchSize = 2 },
        };

        Assert.Empty(SweepSpecDiff.Refused(Example, smaller));
        Assert.Equal(["eval.batch_size", "train.micro_batch", "train.activation_checkpointing"], SweepSpecDiff.MemoryChanges(Example, smaller).Select(d => d.Field));
        Assert.Empty(SweepSpecDiff.MemoryChanges(Example, Example with { MaxAttempts = 9 }));
    }

    [Fact]
    public void A_resubmission_that_drops_a_grid_value_or_changes_a_setting_is_refused_naming_each_field()
    {
        var shrunk = Example with { Grid = Example.Grid with { Remove = [0, 4] } };
        var retrained = Example with { Train = Example.Train with { Lr = 1e-3 }, MaxAttempts = 5 };

        Assert.Equal(["grid.remove"], SweepSpecDiff.Refused(Example, shrunk).Select(d => d.Field));
        Assert.Equal(
            "sweep 'demo' already exists with train.lr 0.0003; this spec says 0.001; "
            + "submit it under another name, or change only grid (whose lists may gain values), max_attempts and train.micro_batch, train.activation_checkpointing, eval.batch_size",
            SweepSpecDiff.Refusal(Example, retrained));

        var both = SweepSpecDiff.Refusal(Example, retrained with { Eval = Example.Eval with { Limit = 100 } })!;
        Assert.StartsWith("sweep 'demo' already exists with eval.limit 500, train.lr 0.0003; this spec says eval.limit 100, train.lr 0.001; ", both);
        Assert.DoesNotContain('\n', both);
    }
}
