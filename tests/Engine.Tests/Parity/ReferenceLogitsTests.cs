using LayerChop.Engine.Checkpoints;
using LayerChop.Engine.Modeling;
using static TorchSharp.torch;

namespace LayerChop.Engine.Tests.Parity;

public class ReferenceLogitsTests
{
    [Fact]
    public void A_model_matches_the_reference_written_from_its_own_logits_and_not_a_perturbed_one()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var path = ReferenceOf(model);
        var same = ReferenceLogits.Compare(model, path);
        Assert.Equal(0, same.MaxAbsDiff);
        Assert.Equal(1, same.ArgmaxAgreement);
        Assert.True(same.Passed);

        using (var file = SafeTensorsFile.Open(path))
        {
            using var logits = file.Read("logits");
            using var input = file.Read("input_ids");
            SafeTensorsWriter.Write(path, [new("input_ids", input), new("logits", logits + 1e-3f)]);
        }
        var off = ReferenceLogits.Compare(model, path);
        Assert.InRange(off.MaxAbsDiff, 0.9e-3, 1.1e-3);
        Assert.False(off.Passed);
    }

    [Fact]
    public void A_bf16_run_is_held_to_the_references_own_bf16_error_when_the_reference_has_one()
    {
        using var model = TestModels.Random(TestModels.Llama());
        var path = ReferenceOf(model);
        using var low = TestModels.Random(TestModels.Llama(), dtype: ScalarType.BFloat16);
        Assert.Null(ReferenceLogits.Compare(low, path).Passed);          // no yardstick: a figure, no verdict

        using (var file = SafeTensorsFile.Open(path))
        {
            using var logits = file.Read("logits");
            using var input = file.Read("input_ids");
            SafeTensorsWriter.Write(path, [new("input_ids", input), new("logits", logits), new("logits_bf16", logits + 0.01f)]);
        }
        var result = ReferenceLogits.Compare(low, path);
        Assert.Equal(0.01, result.ReferenceBf16Error!.Value, 3);
        Assert.Equal(ReferenceLogits.Bf16ErrorRatio * result.ReferenceBf16Error.Value + ReferenceLogits.Bf16Slack, result.Tolerance!.Value, 9);
        Assert.Equal(result.MaxAbsDiff <= result.Tolerance, result.Passed);
    }

    /// <summary>Fixtures transformers wrote (bench/gpu/parity_models.py build DIR --size fixture), committed under
    /// Parity/fixtures/NAME/: the model folder and its reference.safetensors. The folder fills from the first run of
    /// bench/gpu/run.sh on a device (its $OUT/parity-fixtures.tar.gz).</summary>
    [Fact]
    public void Every_committed_transformers_fixture_matches_in_float32()
    {
        var root = FixturesFolder();
        foreach (var folder in Directory.GetDirectories(root).Order())
        {
            using var model = ModelFolder.Load(folder);
            var result = ReferenceLogits.Compare(model, Path.Combine(folder, ReferenceLogits.FileName));
            Assert.True(result.Passed, $"{Path.GetFileName(folder)}: max |diff| {result.MaxAbsDiff:0.0e0} against {result.Source}");
        }
    }

    static string ReferenceOf(CausalLM model)
    {
        var path = Path.Combine(TestModels.TempFolder(), ReferenceLogits.FileName);
        using var ids = TestModels.Ids(2, 10, 300);
        ReferenceLogits.Write(path, model, ids, "test");
        return path;
    }

    static string FixturesFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LayerChop.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("LayerChop.sln not found"), "tests", "Engine.Tests", "Parity", "fixtures");
    }
}
