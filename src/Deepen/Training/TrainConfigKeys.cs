using System.ComponentModel;
using System.Reflection;
using System.Text;

namespace Deepen.Training;

/// <summary>The value types a config key can have.</summary>
public enum ConfigValueKind { String, Int, Long, Double, Bool, StringList, IntList, Choice }

/// <summary>
/// One key of <see cref="TrainConfig"/>: its snake_case name (YAML key and flag), the property behind it, its
/// value type, whether it is a path (resolved against the current directory on load) and its description (the
/// property's <see cref="DescriptionAttribute"/>).
/// </summary>
public sealed record TrainConfigKey(string Name, PropertyInfo Property, ConfigValueKind Kind, bool IsPath, string Description)
{
    /// <summary>The flag: <c>--micro_batch_size</c>.</summary>
    public string Flag => "--" + Name;

    /// <summary>The kebab-case spelling of the flag, also accepted: <c>--micro-batch-size</c>.</summary>
    public string KebabFlag => "--" + Name.Replace('_', '-');

    /// <summary>What a value must look like, for error messages: "an integer", "a list of integers", ...</summary>
    public string Expected => Kind switch
    {
        ConfigValueKind.String => "a string",
        ConfigValueKind.Int => "an integer",
        ConfigValueKind.Long => "an integer (64-bit)",
        ConfigValueKind.Double => "a number",
        ConfigValueKind.Bool => "true or false",
        ConfigValueKind.StringList => "a list of strings",
        ConfigValueKind.IntList => "a list of integers",
        ConfigValueKind.Choice => "one of " + string.Join(", ", TrainConfigValidation.AllowedValues[Name]),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };

    /// <summary>This key's value in <paramref name="config"/>.</summary>
    public object GetValue(TrainConfig config) => Property.GetValue(config)!;
}

/// <summary>The keys of <see cref="TrainConfig"/>, found by reflection over its init-only properties in declaration order.</summary>
public static class TrainConfigKeys
{
    private static readonly HashSet<string> PathProperties =
        [nameof(TrainConfig.Model), nameof(TrainConfig.Out), nameof(TrainConfig.TrainData), nameof(TrainConfig.ValData)];

    /// <summary>Every key, in the order the properties are declared (the order <c>config.yaml</c> lists them).</summary>
    public static IReadOnlyList<TrainConfigKey> All { get; } = Discover();

    private static readonly Dictionary<string, TrainConfigKey> ByName = All.ToDictionary(k => k.Name);

    /// <summary>The key called <paramref name="name"/> (snake_case; the kebab-case spelling is accepted too), or null.</summary>
    public static TrainConfigKey? Find(string name) => ByName.GetValueOrDefault(name.Replace('-', '_'));

    /// <summary><c>MicroBatchSize</c> → <c>micro_batch_size</c>.</summary>
    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            bool boundary = i > 0 && char.IsUpper(c) &&
                            (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]) || (i + 1 < pascal.Length && char.IsLower(pascal[i + 1])));
            if (boundary) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static List<TrainConfigKey> Discover()
    {
        var keys = new List<TrainConfigKey>();
        foreach (var p in typeof(TrainConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
                                             .Where(p => p.SetMethod is { IsPublic: true })
                                             .OrderBy(p => p.MetadataToken))
        {
            var kind = KindOf(p);
            var name = SnakeCase(p.Name);
            var description = p.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"TrainConfig.{p.Name} has no [Description]: every config key needs its help text.");
            keys.Add(new TrainConfigKey(name, p, kind, PathProperties.Contains(p.Name), description));
        }
        return keys;
    }

    private static ConfigValueKind KindOf(PropertyInfo p)
    {
        var t = p.PropertyType;
        if (t == typeof(string)) return ConfigValueKind.String;
        if (t == typeof(int)) return ConfigValueKind.Int;
        if (t == typeof(long)) return ConfigValueKind.Long;
        if (t == typeof(double)) return ConfigValueKind.Double;
        if (t == typeof(bool)) return ConfigValueKind.Bool;
        if (t == typeof(IReadOnlyList<string>)) return ConfigValueKind.StringList;
        if (t == typeof(IReadOnlyList<int>)) return ConfigValueKind.IntList;
        if (t.IsEnum) return ConfigValueKind.Choice;
        throw new NotSupportedException($"TrainConfig.{p.Name}: type {t} is not a supported config value type.");
    }
}
