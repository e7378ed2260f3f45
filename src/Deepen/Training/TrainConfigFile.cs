using System.Collections;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Deepen.Training;

/// <summary>
/// Reads a <see cref="TrainConfig"/> from a YAML file plus key overrides (the CLI's flags), and writes one back
/// as YAML (a run directory's <c>config.yaml</c>), so that what was written loads back to the same config.
/// </summary>
/// <remarks>
/// The YAML file is a flat mapping of snake_case keys (<see cref="TrainConfigKeys"/>) to values: scalars, or
/// for list keys a sequence (<c>[1, 2, 4]</c>) or a comma-separated scalar (<c>1,2,4</c>), as on the command
/// line. Keys not given keep <see cref="TrainConfig"/>'s defaults. Relative paths (model, out, train_data,
/// val_data), in the file or in an override, are resolved against the current directory, exactly as a path
/// given as a flag would be, and stored absolute; a leading <c>~/</c> is the home directory.
/// </remarks>
public static class TrainConfigFile
{
    /// <summary>
    /// Loads <paramref name="yamlPath"/> (null: start from the defaults) and applies <paramref name="overrides"/>
    /// (key → value text; the key in snake_case or kebab-case, with or without leading dashes; list values
    /// comma-separated), which win over the file. Relative paths are resolved against <paramref name="baseDirectory"/>
    /// (default: the current directory). Does not validate values (see <see cref="TrainConfigValidation.Validate"/>),
    /// and does not require paths to exist.
    /// </summary>
    /// <exception cref="DeepenException">Unreadable or malformed file, unknown key (with the nearest valid key), or a value of the wrong type.</exception>
    public static TrainConfig Load(string? yamlPath, IReadOnlyDictionary<string, string> overrides, string? baseDirectory = null)
    {
        var values = new Dictionary<TrainConfigKey, object>();
        if (yamlPath is not null) ReadYaml(yamlPath, values);
        foreach (var (rawKey, text) in overrides)
        {
            var name = rawKey.TrimStart('-');
            var key = TrainConfigKeys.Find(name)
                ?? throw new DeepenException($"unknown key '{name}' (override)" + Suggestion(name.Replace('-', '_')));
            values[key] = ConfigValueParser.ParseScalar(key, text, $"from --{key.Name}");
        }

        var config = new TrainConfig();
        var baseDir = baseDirectory ?? Directory.GetCurrentDirectory();
        foreach (var (key, value) in values)
        {
            object v = value;
            if (key.IsPath)
                v = v is string s ? ResolvePath(s, baseDir) : ((List<string>)v).Select(p => ResolvePath(p, baseDir)).ToList();
            key.Property.SetValue(config, v);
        }
        return config;
    }

    /// <summary>The config as YAML: every key with its value, in declaration order; loads back to an equal config.</summary>
    public static string ToYaml(TrainConfig config)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(writer, new EmitterSettings().WithBestWidth(int.MaxValue));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        emitter.Emit(new MappingStart(null, null, true, MappingStyle.Block));
        foreach (var key in TrainConfigKeys.All)
        {
            emitter.Emit(PlainScalar(key.Name));
            var value = key.GetValue(config);
            switch (key.Kind)
            {
                case ConfigValueKind.StringList or ConfigValueKind.IntList:
                    var items = ((IEnumerable)value).Cast<object>().ToList();
                    emitter.Emit(new SequenceStart(null, null, true,
                        key.Kind == ConfigValueKind.IntList || items.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                    foreach (var item in items) emitter.Emit(item is string s ? StringScalar(s) : PlainScalar(Format(item)));
                    emitter.Emit(new SequenceEnd());
                    break;
                case ConfigValueKind.String:
                    emitter.Emit(StringScalar((string)value));
                    break;
                default:
                    emitter.Emit(PlainScalar(Format(value)));
                    break;
            }
        }
        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    /// <summary>
    /// Writes <see cref="ToYaml"/> to <paramref name="path"/> (through a temporary file renamed when complete),
    /// after <paramref name="headerComment"/> lines, each written as a <c>#</c> comment.
    /// </summary>
    public static void Save(TrainConfig config, string path, IEnumerable<string>? headerComment = null)
    {
        var text = string.Concat((headerComment ?? []).Select(l => "# " + l + "\n")) + ToYaml(config);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The keys whose values differ between two configs (lists compared element by element), in declaration order.</summary>
    public static IReadOnlyList<string> Differences(TrainConfig a, TrainConfig b) =>
        TrainConfigKeys.All.Where(k => !ValuesEqual(k.GetValue(a), k.GetValue(b))).Select(k => k.Name).ToList();

    private static bool ValuesEqual(object a, object b) =>
        a is IEnumerable ea and not string && b is IEnumerable eb and not string
            ? ea.Cast<object>().SequenceEqual(eb.Cast<object>())
            : a.Equals(b);

    private static void ReadYaml(string path, Dictionary<TrainConfigKey, object> values)
    {
        if (!File.Exists(path)) throw new DeepenException($"config file not found: {path}");
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new DeepenException($"{path}:{e.Start.Line}: not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count > 1) throw new DeepenException($"{path}: holds {stream.Documents.Count} YAML documents; expected one.");
        if (stream.Documents.Count == 0) return;
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" or "null" }) return;   // an empty file
        if (root is not YamlMappingNode map)
            throw new DeepenException($"{path}:{root.Start.Line}: expected a mapping of 'key: value' lines at the top level.");

        foreach (var (keyNode, valueNode) in map.Children)
        {
            var line = keyNode.Start.Line;
            var where = $"{path}:{line}";
            if (keyNode is not YamlScalarNode { Value: { } name })
                throw new DeepenException($"{where}: expected a key name, found a {keyNode.NodeType}.");
            var key = TrainConfigKeys.All.FirstOrDefault(k => k.Name == name)
                ?? throw new DeepenException($"unknown key '{name}' in {where}" + Suggestion(name));
            values[key] = valueNode switch
            {
                YamlScalarNode s => ScalarValue(key, s, where),
                YamlSequenceNode seq => ConfigValueParser.ParseList(key, seq.Children.Select(item => item is YamlScalarNode { Value: { } v }
                    ? v
                    : throw new DeepenException($"{key.Name}: each item of the list ({path}:{item.Start.Line}) must be a single value; expected {key.Expected}.")), where),
                _ => throw new DeepenException($"{key.Name}: a {valueNode.NodeType} ({where}) where {key.Expected} was expected."),
            };
        }
    }

    /// <summary>A scalar: an empty/null plain scalar is "" for strings and [] for lists; otherwise parsed by the key's type.</summary>
    private static object ScalarValue(TrainConfigKey key, YamlScalarNode node, string where)
    {
        bool isNull = (node.Style is ScalarStyle.Plain or ScalarStyle.Any) && (node.Value is null or "" or "~" or "null" or "Null" or "NULL");
        if (isNull)
            return key.Kind switch
            {
                ConfigValueKind.String => "",
                ConfigValueKind.StringList => new List<string>(),
                ConfigValueKind.IntList => new List<int>(),
                _ => throw new DeepenException($"{key.Name}: no value ({where}); expected {key.Expected}."),
            };
        return ConfigValueParser.ParseScalar(key, node.Value!, where);
    }

    private static string Suggestion(string name)
    {
        var nearest = NameSuggestion.Nearest(name, TrainConfigKeys.All.Select(k => k.Name));
        return nearest is not null ? $"; did you mean '{nearest}'?" : "; the valid keys are listed by 'deepen train --help'.";
    }

    /// <summary>An absolute path: <c>~/</c> is the home directory, a relative path is taken from <paramref name="baseDir"/>; "" stays "".</summary>
    private static string ResolvePath(string path, string baseDir)
    {
        if (path.Length == 0) return path;
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        return Path.GetFullPath(path, baseDir);
    }

    private static Scalar PlainScalar(string value) => new(null, null, value, ScalarStyle.Plain, true, false);

    /// <summary>A string scalar, quoted when a YAML reader would otherwise take it for a null, a boolean or a number.</summary>
    private static Scalar StringScalar(string value)
    {
        bool ambiguous = value.Length == 0 || value.Trim() != value ||
                         value.ToLowerInvariant() is "~" or "null" or "true" or "false" or "yes" or "no" or "on" or "off" or "y" or "n" ||
                         double.TryParse(value.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out _) ||
                         value.StartsWith('.') && double.TryParse("0" + value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        return new Scalar(null, null, value, ambiguous ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain, true, true);
    }

    /// <summary>
    /// A value as the YAML and the flags write it: numbers in the invariant culture, doubles exact and always
    /// looking like floats (<c>1.0</c>, <c>5.0e-05</c>), lists comma-separated.
    /// </summary>
    public static string FormatValue(object value) => value switch
    {
        string s => s,
        IEnumerable list => string.Join(",", list.Cast<object>().Select(FormatValue)),
        _ => Format(value),
    };

    private static string Format(object value) => value switch
    {
        double d when double.IsNaN(d) => ".nan",
        double d when double.IsPositiveInfinity(d) => ".inf",
        double d when double.IsNegativeInfinity(d) => "-.inf",
        double d => FloatText(d.ToString("R", CultureInfo.InvariantCulture)),
        bool b => b ? "true" : "false",
        Enum e => ConfigWords.Of(e),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    private static string FloatText(string r)
    {
        int e = r.IndexOf('E');
        var mantissa = e < 0 ? r : r[..e];
        if (!mantissa.Contains('.')) mantissa += ".0";
        return e < 0 ? mantissa : mantissa + "e" + r[(e + 1)..];
    }
}
