namespace Deepen;

/// <summary>
/// An error caused by the user's input (a file, a key, a value), with a message that says what was
/// wrong and what was expected. The CLI prints its message without a stack trace.
/// </summary>
public sealed class DeepenException : Exception
{
    public DeepenException(string message) : base(message) { }
    public DeepenException(string message, Exception inner) : base(message, inner) { }
}
