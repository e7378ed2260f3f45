namespace Deepen.Data;

/// <summary>One generated word problem.</summary>
/// <param name="Question">The story and the question, e.g. "Mia has 12 apples. She buys 7 more, ...".</param>
/// <param name="Answer">GSM8K-format answer: worked lines with <c>&lt;&lt;expr=value&gt;&gt;</c> annotations then <c>#### N</c>, or just <c>#### N</c>.</param>
/// <param name="Ops">The number of sequential arithmetic operations.</param>
/// <param name="Result">The exact integer answer N.</param>
/// <param name="Canonical">The arithmetic alone, e.g. <c>12+7/2*3</c> (applied left to right); it decides the split.</param>
public sealed record MathProblem(string Question, string Answer, int Ops, long Result, string Canonical);
