using Deepen.Models;

namespace Deepen.Tests.Models;

/// <summary>The one model interface answers for its depth, so callers never ask which kind they hold.</summary>
public class DeepenModelTests
{
    [Fact]
    public void APlainModelIsTheDegenerateCaseAndRefusesADepth()
    {
        using var plain = DeepenModel.Load(TestPaths.FixtureModel("llama-tiny"));
        Assert.Equal("plain", plain.Kind);
        Assert.Equal([1], plain.Recurrences([1, 4, 8]));
        Assert.Equal(("val_loss", "0.5000"), plain.ValidationLabel(4, 0.5));
        Assert.Equal(new RecurrenceDraw(0, 1), plain.Draw(4, 4, 7));
        Assert.Equal("llama-tiny", plain.NameAt(DepthOptions.Fixed(4)));
        plain.CheckDepth(new DepthOptions());                                        // no depth asked: fine
        var fixedDepth = Assert.Throws<DeepenException>(() => plain.CheckDepth(DepthOptions.Fixed(4)));
        Assert.Equal("recurrence", fixedDepth.Setting);
        Assert.Contains("llama-tiny is a plain model", fixedDepth.Message);
        var adaptive = Assert.Throws<DeepenException>(() => plain.CheckDepth(DepthOptions.Adaptive(ExitCriterion.Parse("kl:5e-4"), 16)));
        Assert.Equal("adaptive", adaptive.Setting);
    }

    [Fact]
    public void ARecurrentModelTakesEveryDepth()
    {
        using var recurrent = DeepenModel.Load(TestPaths.FixtureModel("converted-llama-tiny"));
        Assert.Equal("recurrent", recurrent.Kind);
        Assert.Equal([1, 4, 8], recurrent.Recurrences([1, 4, 8]));
        Assert.Equal(("val_loss_r4", "r=4 0.5000"), recurrent.ValidationLabel(4, 0.5));
        Assert.Equal("converted-llama-tiny@r4", recurrent.NameAt(DepthOptions.Fixed(4)));
        recurrent.CheckDepth(DepthOptions.Adaptive(ExitCriterion.Parse("kl:5e-4"), 16));
        Assert.Equal("recurrence", Assert.Throws<DeepenException>(() => recurrent.CheckDepth(DepthOptions.Fixed(0))).Setting);
    }
}
