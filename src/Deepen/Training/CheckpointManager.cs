using Deepen.Checkpoints;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>
/// Training checkpoints under <c>OUT/checkpoints/step-NNNNNN/</c>: the model in its own format (so a
/// checkpoint is also a model directory), <c>optimizer.safetensors</c>, <c>trainer_state.json</c>, and a
/// <c>DONE</c> file written last. Each is written to a temporary directory and renamed when complete;
/// only the newest <c>keep</c> are kept.
/// </summary>
public sealed class CheckpointManager(string runDir, int keep)
{
    public const string DoneFile = "DONE";
    public const string OptimizerFile = "optimizer.safetensors";

    public string Root { get; } = Path.Combine(runDir, "checkpoints");

    public string Save(long step, DeepenModel model, ITrainingOptimizer optimizer, TrainerState state, string? companionDir)
    {
        var dir = Path.Combine(Root, $"step-{step:D6}");
        AtomicDirectory.Write(dir, overwrite: true, tmp =>
        {
            model.WriteInto(tmp, ScalarType.Float32);   // master weights, bit-exact
            if (companionDir is not null) RecurrentCheckpoint.CopyCompanions(companionDir, tmp);
            OptimizerStateDict.Save(optimizer, Path.Combine(tmp, OptimizerFile), model.StateToCheckpoint);   // named as the weights are
            state.Save(tmp);
            File.WriteAllText(Path.Combine(tmp, DoneFile), $"step {step}\n");
        });
        Prune();
        return dir;
    }

    /// <summary>Complete checkpoints, oldest first.</summary>
    public IReadOnlyList<string> Complete() =>
        Directory.Exists(Root)
            ? Directory.GetDirectories(Root, "step-*").Where(IsComplete).Order(StringComparer.Ordinal).ToList()
            : [];

    public static bool IsComplete(string dir) => File.Exists(Path.Combine(dir, DoneFile));

    /// <summary>Resolves <c>--resume</c>: "auto" → the newest complete checkpoint (null when none), or a path that must be complete.</summary>
    public string? Resolve(string resume)
    {
        if (resume == "auto") return Complete().LastOrDefault();
        if (!Directory.Exists(resume)) throw DeepenException.BadSetting("resume", $"{resume}: checkpoint directory not found.");
        if (!IsComplete(resume))
            throw DeepenException.BadSetting("resume", $"{resume}: the checkpoint has no {DoneFile} file, so it may be incomplete; resume from a complete one (`resume` auto picks the newest).");
        return resume;
    }

    private void Prune()
    {
        var all = Complete();
        foreach (var old in all.Take(Math.Max(0, all.Count - Math.Max(1, keep))))
            Directory.Delete(old, recursive: true);
    }
}
