using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Deepen.Training;

/// <summary>
/// Turns the text of a config value (a YAML scalar or a flag value) into the typed value of its key, with
/// errors that name the key, the value, where it came from and the expected type.
/// </summary>
internal static partial class ConfigValueParser
{
    /// <summary>Parses one scalar of <paramref name="key"/>'s element type; <paramref name="where"/> names the source in errors.</summary>
    public static object ParseScalar(TrainConfigKey key, string text, string where) => key.Kind switch
    {
        ConfigValueKind.String => text,
        ConfigValueKind.Int => ParseInteger<int>(key, text, where, "a whole number such as 8 (32-bit)"),
        ConfigValueKind.Long => ParseInteger<long>(key, text, where, "a whole number such as 74"),
        ConfigValueKind.Double => ParseDouble(key, text, where),
        ConfigValueKind.Bool => ParseBool(key, text, where),
        ConfigValueKind.StringList => SplitList(text),
        ConfigValueKind.IntList => SplitList(text).Select(s => ParseListInt(key, s, text, where)).ToList(),
        ConfigValueKind.Choice => ConfigWords.Parse(key.Property.PropertyType, text.Trim())
            ?? throw new DeepenException($"{key.Name}: '{text.Trim()}' is not allowed; expected one of: {string.Join(", ", TrainConfigValidation.AllowedValues[key.Name])}."),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key.Kind, null),
    };

    /// <summary>Parses the items of a list value (a YAML sequence or repeated flags).</summary>
    public static object ParseList(TrainConfigKey key, IEnumerable<string> items, string where) => key.Kind switch
    {
        ConfigValueKind.StringList => items.ToList(),
        ConfigValueKind.IntList => items.Select(s => ParseListInt(key, s, $"[{string.Join(", ", items)}]", where)).ToList(),
        _ => throw new DeepenException($"{key.Name}: a list ({where}) where {key.Expected} was expected."),
    };

    /// <summary>A comma-separated list, items trimmed; the empty string is the empty list.</summary>
    public static List<string> SplitList(string text) =>
        text.Trim().Length == 0 ? [] : text.Split(',').Select(s => s.Trim()).ToList();

    private static int ParseListInt(TrainConfigKey key, string item, string whole, string where) =>
        int.TryParse(Digits(item), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new DeepenException($"{key.Name}: '{item}' in '{whole}' ({where}) is not an integer; expected {key.Expected}, e.g. 1,2,4 or [1, 2, 4].");

    private static T ParseInteger<T>(TrainConfigKey key, string text, string where, string expected) where T : IBinaryInteger<T> =>
        T.TryParse(Digits(text), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw TypeError(key, text, where, expected);

    private static double ParseDouble(TrainConfigKey key, string text, string where)
    {
        var t = text.Trim();
        switch (t)
        {
            case ".nan" or ".NaN" or ".NAN": return double.NaN;
            case ".inf" or "+.inf" or ".Inf" or "+.Inf": return double.PositiveInfinity;
            case "-.inf" or "-.Inf": return double.NegativeInfinity;
        }
        return NumberPattern().IsMatch(t) && double.TryParse(t.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw TypeError(key, text, where, "a number such as 0.001 or 1e-3");
    }

    private static bool ParseBool(TrainConfigKey key, string text, string where) => text.Trim().ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw TypeError(key, text, where, "true or false"),
    };

    /// <summary>Digit separators (<c>50_000</c>) allowed between digits, as in YAML 1.1.</summary>
    private static string Digits(string text)
    {
        var t = text.Trim();
        return IntegerPattern().IsMatch(t) ? t.Replace("_", "") : t;
    }

    private static DeepenException TypeError(TrainConfigKey key, string text, string where, string expected) =>
        new($"{key.Name}: '{text}' ({where}) is not {key.Expected}; expected {expected}.");

    [GeneratedRegex(@"^[+-]?[0-9]+(_[0-9]+)*$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[+-]?([0-9]+(_[0-9]+)*(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")]
    private static partial Regex NumberPattern();
}
