using System.Reflection;
using Deepen.Data;

namespace Deepen.Training;

/// <summary>The word a choice is written as in YAML and on the command line, where it is not the member's name in lower case.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ConfigWordAttribute(string word) : Attribute
{
    public string Word { get; } = word;
}

/// <summary><c>optimizer</c>: which optimizer updates which parameters.</summary>
public enum OptimizerKind
{
    /// <summary>Muon for the hidden matrices and the adapter, AdamW for embeddings, head and norms.</summary>
    Muon,
    /// <summary>AdamW on everything.</summary>
    AdamW,
}

/// <summary><c>precision</c>: the dtype of the forward's matmuls.</summary>
public enum PrecisionKind
{
    /// <summary>float32 throughout.</summary>
    Fp32,
    /// <summary>float32 master weights, bf16 matmuls.</summary>
    [ConfigWord("bf16-mixed")] Bf16Mixed,
}

/// <summary><c>curriculum</c> and <c>backprop_curriculum</c>: how a quantity ramps to its target.</summary>
public enum CurriculumShape
{
    /// <summary>At the target from step 0.</summary>
    None,
    /// <summary>Linear ramp.</summary>
    Linear,
    /// <summary>1 − √(1 − progress): fast at first (the paper's mean-recurrence curriculum).</summary>
    [ConfigWord("1-sqrt")] OneSqrt,
}

/// <summary><c>loss_on</c>: which next-token predictions the loss averages over.</summary>
public enum LossTokens
{
    /// <summary>Every token.</summary>
    All,
    /// <summary>The tokens after each answer marker up to and including the document's EOS.</summary>
    Answer,
}

/// <summary><c>save_dtype</c>: the stored dtype of the final model.</summary>
public enum SaveDtypeKind
{
    Float32,
    BFloat16,
}

/// <summary>The words of the config's choices (<see cref="OptimizerKind"/>, <see cref="DataEndAction"/>, ...).</summary>
public static class ConfigWords
{
    /// <summary>The word of <paramref name="value"/>: its <see cref="ConfigWordAttribute"/>, else its name in lower case.</summary>
    public static string Of(Enum value)
    {
        var field = value.GetType().GetField(value.ToString(), BindingFlags.Public | BindingFlags.Static);
        return field?.GetCustomAttribute<ConfigWordAttribute>()?.Word ?? value.ToString().ToLowerInvariant();
    }

    /// <summary>Every word of <paramref name="enumType"/>, in declaration order.</summary>
    public static IReadOnlyList<string> All(Type enumType) => Enum.GetValues(enumType).Cast<Enum>().Select(Of).ToList();

    /// <summary>The member of <paramref name="enumType"/> whose word is <paramref name="word"/> (exactly), or null.</summary>
    public static object? Parse(Type enumType, string word) =>
        Enum.GetValues(enumType).Cast<Enum>().FirstOrDefault(v => Of(v) == word);

    /// <summary>The member of <typeparamref name="T"/> whose word is <paramref name="word"/>, or an error naming <paramref name="key"/> and the words.</summary>
    public static T Parse<T>(string key, string word) where T : struct, Enum =>
        Parse(typeof(T), word) is T value ? value
            : throw new DeepenException($"{key}: '{word}' is not allowed; expected one of: {string.Join(", ", All(typeof(T)))}.");
}
