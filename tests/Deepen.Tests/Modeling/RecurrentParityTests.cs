using Deepen.Checkpoints;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Tests.Modeling;

/// <summary>
/// The recurrent forward equals the independent PyTorch reference (tests/fixtures/reference.py) on the
/// Raven-format fixtures: zero initial state at r ∈ {1, 3, 8}, and a given initial state at r = 2
/// (which checks that the adapter's first d columns act on the state).
/// </summary>
public class RecurrentParityTests
{
    [Theory]
    [InlineData("raven-llama-tiny", 1)]
    [InlineData("raven-llama-tiny", 3)]
    [InlineData("raven-llama-tiny", 8)]
    [InlineData("raven-olmo2-tiny", 1)]
    [InlineData("raven-olmo2-tiny", 3)]
    [InlineData("raven-olmo2-tiny", 8)]
    // Written by `deepen convert` (tests/fixtures/make_converted.sh); the reference read those files.
    [InlineData("converted-llama-tiny", 1)]
    [InlineData("converted-llama-tiny", 3)]
    [InlineData("converted-llama-tiny", 8)]
    [InlineData("converted-llama3-tiny", 1)]
    [InlineData("converted-llama3-tiny", 3)]
    [InlineData("converted-llama3-tiny", 8)]
    [InlineData("converted-olmo2-tiny", 1)]
    [InlineData("converted-olmo2-tiny", 3)]
    [InlineData("converted-olmo2-tiny", 8)]
    public void ZeroStateLogitsMatchReference(string fixture, int r)
    {
        var dir = TestPaths.FixtureModel(fixture);
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        using var ids = expected.Read("input_ids");
        using var want = expected.Read($"logits_r{r}");
        using var model = RecurrentCheckpoint.Load(dir);
        using var noGrad = no_grad();
        using var got = model.forward(ids.unsqueeze(0), new RecurrenceOptions(r, State: StateInit.Zeros))[0];
        AssertClose(want, got, $"{fixture} r={r}");
    }

    [Theory]
    [InlineData("raven-llama-tiny")]
    [InlineData("raven-olmo2-tiny")]
    public void GivenStateLogitsMatchReference(string fixture)
    {
        var dir = TestPaths.FixtureModel(fixture);
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        using var ids = expected.Read("input_ids");
        using var state = expected.Read("init_state").unsqueeze(0);      // (1, T, d)
        using var want = expected.Read("logits_r2_init_state");
        using var model = RecurrentCheckpoint.Load(dir);
        using var noGrad = no_grad();
        var opts = new RecurrenceOptions(2);
        var (cos, sin) = model.PositionTables(ids.unsqueeze(0));
        var e = model.Prelude(ids.unsqueeze(0), cos, sin);
        using var got = model.Coda(model.Recur(e, state, opts, cos, sin), cos, sin)[0];
        AssertClose(want, got, $"{fixture} r=2 given state");
    }

    [Fact]
    public void OlmoVariantIsDetectedByQkNormTensors()
    {
        using var olmo = RecurrentCheckpoint.Load(TestPaths.FixtureModel("raven-olmo2-tiny"));
        using var llama = RecurrentCheckpoint.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        Assert.Equal(BlockStyle.PostNormQkNorm, olmo.Config.Block.Style);
        Assert.Equal(BlockStyle.PreNorm, llama.Config.Block.Style);
    }

    internal static void AssertClose(Tensor want, Tensor got, string what, double tol = 1e-4)
    {
        Assert.Equal(want.shape, got.shape);
        double maxDiff = (got - want).abs().max().item<float>();
        Assert.True(maxDiff <= tol, $"{what}: max |Δlogit| = {maxDiff:E3} > {tol}");
    }
}
