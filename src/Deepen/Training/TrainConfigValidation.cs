using Deepen.Torch;
using System.Globalization;

namespace Deepen.Training;

/// <summary>
/// Checks the values of a <see cref="TrainConfig"/> in one place: required keys, positive sizes, fractions in
/// [0, 1] and the allowed words of each enumerated key. Paths are not checked for existence here (the
/// trainer does that when it opens them).
/// </summary>
public static class TrainConfigValidation
{
    /// <summary>The allowed words of each choice key (snake_case key → words), in the order help text lists them: the
    /// words of its enum, fewer where a key takes only some of them.</summary>
    public static IReadOnlyDictionary<string, string[]> AllowedValues { get; } = TrainConfigKeys.All
        .Where(k => k.Kind == ConfigValueKind.Choice)
        .ToDictionary(k => k.Name, k => k.Name == "backprop_curriculum"
            ? [ConfigWords.Of(CurriculumShape.None), ConfigWords.Of(CurriculumShape.Linear)]   // the shapes the backprop-depth curriculum supports (method.md §5.2)
            : ConfigWords.All(k.Property.PropertyType).ToArray());

    /// <summary>
    /// Returns <paramref name="config"/> when every value is allowed; otherwise throws one
    /// <see cref="DeepenException"/> that lists every problem, each naming the key, the value and what is allowed.
    /// </summary>
    public static TrainConfig Validate(this TrainConfig config)
    {
        var errors = Problems(config);
        if (errors.Count == 1) throw new DeepenException(errors[0]);
        if (errors.Count > 1) throw new DeepenException($"{errors.Count} problems in the training config:\n  " + string.Join("\n  ", errors));
        return config;
    }

    /// <summary>Every problem with <paramref name="c"/>'s values, one message each; empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(TrainConfig c)
    {
        var errors = new List<string>();

        void Required(string key, string value, string what)
        {
            if (string.IsNullOrWhiteSpace(value)) errors.Add($"{key}: required ({what}); set it in the config file or with --{key}.");
        }
        void Check(bool ok, string key, string shown, string expected)
        {
            if (!ok) errors.Add($"{key}: {shown} is not allowed; expected {expected}.");
        }
        void Positive(string key, long v) => Check(v >= 1, key, $"{v}", "a positive integer (≥ 1)");
        void NonNegative(string key, long v, string zeroMeans) => Check(v >= 0, key, $"{v}", $"an integer ≥ 0 (0 = {zeroMeans})");
        void PositiveReal(string key, double v) => Check(v > 0 && double.IsFinite(v), key, Num(v), "a positive number");
        void NonNegativeReal(string key, double v) => Check(v >= 0 && double.IsFinite(v), key, Num(v), "a number ≥ 0");
        void Fraction(string key, double v) => Check(v >= 0 && v <= 1, key, Num(v), "a fraction in [0, 1]");
        void OneOf(string key, Enum value)
        {
            var word = Enum.IsDefined(value.GetType(), value) ? ConfigWords.Of(value) : value.ToString();
            Check(AllowedValues[key].Contains(word, StringComparer.Ordinal), key, $"'{word}'", "one of: " + string.Join(", ", AllowedValues[key]));
        }

        // model and data
        Required("model", c.Model, "the model directory to train");
        Required("out", c.Out, "the run directory");
        if (c.TrainData.Count == 0) errors.Add("train_data: required (token shards, a folder from 'deepen data prepare', or text/JSONL/Parquet inputs); set it in the config file or with --train_data.");
        if (c.TrainData.Any(string.IsNullOrWhiteSpace)) errors.Add("train_data: holds an empty path.");
        if (c.ValData.Any(string.IsNullOrWhiteSpace)) errors.Add("val_data: holds an empty path.");
        if (string.IsNullOrWhiteSpace(c.TextField)) errors.Add("text_field: must not be empty (the JSONL key holding each document).");
        Positive("seq_len", c.SeqLen);
        OneOf("on_data_end", c.OnDataEnd);

        // batch and steps
        Positive("micro_batch_size", c.MicroBatchSize);
        Positive("grad_accum_steps", c.GradAccumSteps);
        Positive("max_steps", c.MaxSteps);

        // optimizer and lr schedule
        OneOf("optimizer", c.Optimizer);
        PositiveReal("lr", c.Lr);
        PositiveReal("muon_lr", c.MuonLr);
        NonNegativeReal("weight_decay", c.WeightDecay);
        NonNegativeReal("muon_weight_decay", c.MuonWeightDecay);
        PositiveReal("grad_clip", c.GradClip);
        Fraction("warmup", c.Warmup);
        Fraction("cooldown", c.Cooldown);
        Fraction("min_lr_ratio", c.MinLrRatio);
        if (c.Warmup is >= 0 and <= 1 && c.Cooldown is >= 0 and <= 1 && c.Warmup + c.Cooldown > 1)
            errors.Add($"warmup + cooldown: {Num(c.Warmup)} + {Num(c.Cooldown)} exceed the whole run; expected a sum ≤ 1.");

        // recurrence
        NonNegative("mean_recurrence", c.MeanRecurrence, "the model's mean_recurrence");
        NonNegative("backprop_depth", c.BackpropDepth, "the model's mean_backprop_depth");
        OneOf("curriculum", c.Curriculum);
        Fraction("curriculum_warmup", c.CurriculumWarmup);
        OneOf("backprop_curriculum", c.BackpropCurriculum);
        Positive("backprop_curriculum_start", c.BackpropCurriculumStart);
        if (c.BackpropCurriculum != CurriculumShape.None && c.BackpropDepth > 0 && c.BackpropCurriculumStart > c.BackpropDepth)
            errors.Add($"backprop_curriculum_start: {c.BackpropCurriculumStart} is above backprop_depth {c.BackpropDepth}; expected a start ≤ the depth it ramps to.");

        // precision, threads
        OneOf("precision", c.Precision);
        OneOf("loss_on", c.LossOn);
        if (c.LossOn == LossTokens.Answer && string.IsNullOrEmpty(c.AnswerMarker)) errors.Add("answer_marker: empty; loss_on: answer needs the text that opens each answer, e.g. '\\nA:'.");
        NonNegative("threads", c.Threads, "all cores");
        try { ComputeDevice.Resolve(c.Device); }
        catch (DeepenException e) { errors.Add(e.Message); }

        // logging, validation, checkpoints
        NonNegative("eval_every", c.EvalEvery, "only at the end");
        foreach (var r in c.ValRecurrences.Where(r => r < 1).Distinct())
            errors.Add($"val_recurrences: {r} is not allowed; expected positive integers, e.g. [1, 2, 4, 8, 16, 32].");
        NonNegative("val_batches", c.ValBatches, "all");
        NonNegative("save_every", c.SaveEvery, "only the final model");
        Positive("keep_last", c.KeepLast);
        OneOf("save_dtype", c.SaveDtype);
        return errors;
    }

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
