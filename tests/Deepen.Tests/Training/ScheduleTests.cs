using Deepen.Training;

namespace Deepen.Tests.Training;

/// <summary>HF warmup–stable–decay (method.md [T]) and the schedules built on it: LR (§6.2), mean-recurrence
/// curriculum (§5.1) and backprop-depth curriculum (§5.2).</summary>
public class ScheduleTests
{
    private const double Tight = 1e-12;

    [Fact]
    public void WsdFollowsTheHfFormulas()
    {
        // W = 10, S = 20, D = 10, linear warmup, cosine decay, m = 0.1.
        var wsd = new WsdSchedule(10, 20, 10, RampShape.Linear, RampShape.Cosine, MinLrRatio: 0.1);
        Assert.Equal(0.1, wsd.Factor(0), Tight);                      // warmup starts at m
        Assert.Equal(0.5 * 0.9 + 0.1, wsd.Factor(5), Tight);          // u = 0.5
        Assert.Equal(1.0, wsd.Factor(10), Tight);                     // stable
        Assert.Equal(1.0, wsd.Factor(29), Tight);
        Assert.Equal(1.0, wsd.Factor(30), Tight);                     // decay u = 0: ½(1 + cos 0) = 1
        Assert.Equal(0.5 * 0.9 + 0.1, wsd.Factor(35), Tight);         // u = 0.5: ½(1 + cos(π·0.5·2·0.5)) = ½
        Assert.Equal(0.1, wsd.Factor(40), Tight);                     // after the end: m
        Assert.Equal(0.1, wsd.Factor(1000), Tight);
    }

    [Theory]
    [InlineData(RampShape.Linear, 25, 0.25, 0.75)]                   // warmup u; decay 1 − u (u = ¼ for both)
    [InlineData(RampShape.Cosine, 50, 0.5, 0.85355339059327373)]     // ½(1 − cos π/2); ½(1 + cos π/4) = ½ + √2/4
    [InlineData(RampShape.OneMinusSqrt, 75, 0.5, 0.5)]               // 1 − √(1 − ¾); 1 − √¼
    public void RampShapesAtChosenPoints(RampShape shape, long warmupStep, double expectedWarmup, double expectedDecayAtQuarter)
    {
        var wsd = new WsdSchedule(100, 0, 100, shape, shape);        // no stable phase, m = 0
        Assert.Equal(expectedWarmup, wsd.Factor(warmupStep), Tight);
        Assert.Equal(expectedDecayAtQuarter, wsd.Factor(125), Tight);
    }

    [Fact]
    public void ShapeNamesParseAndUnknownNamesAreRejected()
    {
        Assert.Equal(RampShape.OneMinusSqrt, RampShapes.Parse("1-sqrt"));
        Assert.Equal(RampShape.Linear, RampShapes.Parse("Linear"));
        var e = Assert.Throws<DeepenException>(() => RampShapes.Parse("sqrt", "mean_recurrence_schedule.warmup_type"));
        Assert.Contains("mean_recurrence_schedule.warmup_type", e.Message);
        Assert.Contains("'sqrt'", e.Message);
    }

    [Fact]
    public void LrScheduleWarmsUpHoldsAndDecaysToMinRatio()
    {
        // The math runs: T = 50k, warmup 0.0025 → ceil(125.0) = 125 steps, cooldown 0.6 → 30,000 steps.
        var lr = new LrSchedule(50_000, 0.0025, 0.6);
        Assert.Equal(125, lr.Wsd.WarmupSteps);
        Assert.Equal(30_000, lr.Wsd.DecaySteps);
        Assert.Equal(19_875, lr.Wsd.StableSteps);
        Assert.Equal(0.001, lr.Multiplier(0), Tight);
        Assert.Equal(62.0 / 125 * 0.999 + 0.001, lr.Multiplier(62), Tight);
        Assert.Equal(1.0, lr.Multiplier(125), Tight);
        Assert.Equal(1.0, lr.Multiplier(19_999), Tight);
        Assert.Equal(1.0, lr.Multiplier(20_000), Tight);
        Assert.Equal(0.5 * 0.999 + 0.001, lr.Multiplier(35_000), Tight);
        Assert.InRange(lr.Multiplier(49_999), 0.001, 0.001 + 1e-8);
        Assert.Equal(0.001, lr.Multiplier(50_000), Tight);
        for (long s = 1; s < 125; s++) Assert.True(lr.Multiplier(s) > lr.Multiplier(s - 1));
        for (long s = 20_001; s < 50_000; s++) Assert.True(lr.Multiplier(s) < lr.Multiplier(s - 1), $"not decreasing at {s}");
    }

    [Fact]
    public void LrScheduleRejectsBadFractions()
    {
        Assert.Contains("warmup", Assert.Throws<DeepenException>(() => new LrSchedule(100, 1.5, 0)).Message);
        Assert.Contains("cooldown", Assert.Throws<DeepenException>(() => new LrSchedule(100, 0.1, -0.1)).Message);
        Assert.Contains("exceed", Assert.Throws<DeepenException>(() => new LrSchedule(100, 0.5, 0.6)).Message);
    }

    [Fact]
    public void OneMinusSqrtCurriculumMatchesHandComputedValues()
    {
        // target 32, 1-sqrt over 75 % of 50k → W = 37,500; r̄ = ceil(32·(1 − √(1 − s/W))), ≤ 0 → 1.
        var c = MeanRecurrenceCurriculum.Ramp(32, 50_000, 0.75, RampShape.OneMinusSqrt);
        Assert.Equal(37_500, c.Schedule!.WarmupSteps);
        Assert.Equal(1, c.At(0));          // 0 → 1
        Assert.Equal(1, c.At(1));          // 4.27e-4
        Assert.Equal(5, c.At(9_375));      // 32·(1 − √0.75) = 4.287
        Assert.Equal(10, c.At(18_750));    // 32·(1 − √0.5) = 9.373
        Assert.Equal(16, c.At(28_125));    // 32·(1 − √0.25) = 16 exactly
        Assert.Equal(32, c.At(37_499));    // 31.83
        Assert.Equal(32, c.At(37_500));
        Assert.Equal(32, c.At(49_999));
    }

    [Fact]
    public void LinearCurriculumMatchesHandComputedValues()
    {
        var c = MeanRecurrenceCurriculum.Ramp(32, 50_000, 0.75, RampShape.Linear);
        Assert.Equal(1, c.At(0));
        Assert.Equal(8, c.At(9_375));      // 32 · 0.25
        Assert.Equal(16, c.At(18_750));    // 32 · 0.5
        Assert.Equal(24, c.At(28_125));    // 32 · 0.75
        Assert.Equal(9, c.At(9_376));      // just past 8
        Assert.Equal(32, c.At(37_500));
    }

    [Theory]
    [InlineData(RampShape.Linear, 0.25)]
    [InlineData(RampShape.OneMinusSqrt, 0.75)]
    [InlineData(RampShape.Linear, 1.0)]
    public void CurriculumIsMonotoneFromOneToTarget(RampShape shape, double warmup)
    {
        const long steps = 20_000;
        var c = MeanRecurrenceCurriculum.Ramp(16, steps, warmup, shape);
        Assert.Equal(1, c.At(0));
        for (long s = 1; s < steps; s++) Assert.True(c.At(s) >= c.At(s - 1), $"decreases at step {s}");
        long w = (long)Math.Ceiling(warmup * steps);
        Assert.Equal(16, c.At(Math.Min(w, steps - 1)));
        Assert.True(c.At(w - 1) <= 16);
    }

    [Fact]
    public void OneMinusSqrtSpendsLessRecurrenceThanLinear()
    {
        var sqrt = MeanRecurrenceCurriculum.Ramp(32, 10_000, 0.75, RampShape.OneMinusSqrt);
        var linear = MeanRecurrenceCurriculum.Ramp(32, 10_000, 0.75, RampShape.Linear);
        long sumSqrt = 0, sumLinear = 0;
        for (long s = 0; s < 10_000; s++) { sumSqrt += sqrt.At(s); sumLinear += linear.At(s); Assert.True(sqrt.At(s) <= linear.At(s)); }
        Assert.True(sumSqrt < sumLinear);
    }

    [Fact]
    public void NoCurriculumUsesTheTargetFromStepZero()
    {
        var none = MeanRecurrenceCurriculum.Constant(32);
        Assert.Equal(32, none.At(0));
        Assert.Equal(32, none.At(123_456));
        var zeroWarmup = MeanRecurrenceCurriculum.Ramp(4, 1000, 0.0, RampShape.Linear);   // W = 0: stable from step 0
        Assert.Equal(4, zeroWarmup.At(0));
        Assert.Throws<DeepenException>(() => MeanRecurrenceCurriculum.Constant(0));
    }

    [Fact]
    public void BackpropDepthCurriculumAsTheOriginalCode()
    {
        // max 8, start 1 → min ratio max(1, 0)/8 = 1/8; T = 1000, warmup 0.1 → W = 100; stepped once at init,
        // so step i uses f(i + 1): s(0) = ceil(8·(0.01·0.875 + 0.125)) = ceil(1.07) = 2 ("get 2 and not 1").
        var c = BackpropDepthCurriculum.Ramp(8, 1, 1000, 0.1);
        Assert.Equal(2, c.At(0));
        Assert.Equal(5, c.At(50));         // 8·(0.51·0.875 + 0.125) = 4.57
        Assert.Equal(8, c.At(98));         // 7.93
        Assert.Equal(8, c.At(99));
        Assert.Equal(8, c.At(998));
        Assert.Equal(1, c.At(999));        // the last step sees HF's after-the-end value m: ceil(8/8)
        for (long s = 1; s < 999; s++) Assert.True(c.At(s) >= c.At(s - 1));

        var from4 = BackpropDepthCurriculum.Ramp(8, 4, 1000, 0.1);   // ratio 3/8: ceil(8·(0.01·0.625 + 0.375)) = 4
        Assert.Equal(4, from4.At(0));
        Assert.Equal(8, BackpropDepthCurriculum.Constant(8).At(0));
    }
}
