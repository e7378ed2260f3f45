namespace Deepen;

/// <summary>
/// An error caused by the user's input (a file, a key, a value), with a message that says what was
/// wrong and what was expected. The CLI prints its message without a stack trace.
/// </summary>
/// <remarks>
/// The library speaks of settings by their config keys (<c>batch_size</c>), never by a front end's spelling: an error
/// about one setting's value starts with the key (<see cref="BadSetting"/>), and other settings named in a message's
/// advice are written <c>`key`</c>. The CLI shows both as its flags (<c>--batch-size</c>) where the command has them.
/// </remarks>
public sealed class DeepenException : Exception
{
    public DeepenException(string message) : base(message) { }
    public DeepenException(string message, Exception inner) : base(message, inner) { }
    private DeepenException(string setting, string message, bool _) : base(message) => Setting = setting;

    /// <summary>The setting (a config key, e.g. <c>batch_size</c>) whose value is wrong, when the error is about one; the
    /// message then starts with it.</summary>
    public string? Setting { get; }

    /// <summary>An error about the value of setting <paramref name="key"/>: the message is "<paramref name="key"/>
    /// <paramref name="detail"/>", e.g. <c>batch_size 0: expected at least 1.</c></summary>
    public static DeepenException BadSetting(string key, string detail) =>
        new(key, detail.StartsWith(':') ? key + detail : $"{key} {detail}", true);
}
