using System.Text.Json.Nodes;

namespace Deepen.Evaluation.Tasks;

/// <summary>One chain problem to score: the prompt, the answer continuation and its difficulty (number of operations).</summary>
public sealed record ChainDoc(int Index, string Prompt, string Answer, int Ops);

/// <summary>
/// Direct-answer problems (the <c>synth-chain</c> JSONL: <c>question</c>, <c>answer</c>, <c>ops</c>) scored by one forward
/// pass each: a problem is correct when greedy decoding from the prompt would produce exactly the answer's tokens
/// (lm-eval's <c>loglikelihood</c> request, its <c>is_greedy</c> flag). No generation, so no stop strings and no
/// extraction: the metric <c>acc</c> is exact match of the answer. Each sample's <c>ops</c> goes to
/// <see cref="EvalSample.Extra"/> so reports can break accuracy down by difficulty.
/// </summary>
public sealed class ChainTask : IEvalTask
{
    /// <summary>The metric's name.</summary>
    public const string Accuracy = "acc";

    private readonly IReadOnlyList<ChainDoc> _docs;

    public ChainTask(string name, IReadOnlyList<ChainDoc> docs)
    {
        Name = name;
        _docs = docs;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Metrics { get; } = [Accuracy];

    /// <inheritdoc/>
    public int Count => _docs.Count;

    /// <inheritdoc/>
    public IReadOnlyList<EvalRequest> BuildRequests() =>
        _docs.Select(d => (EvalRequest)new LogLikelihoodRequest(d.Index, d.Prompt, d.Answer)).ToList();

    /// <inheritdoc/>
    public IReadOnlyList<EvalSample> Score(IReadOnlyList<EvalResponse> responses)
    {
        if (responses.Count != _docs.Count)
            throw new ArgumentException($"{Name}: {responses.Count} responses for {_docs.Count} problems.", nameof(responses));
        return _docs.Select((d, i) =>
        {
            var r = responses[i].Scored;
            return new EvalSample(d.Index, d.Prompt, r.IsGreedy ? d.Answer : "(other)", d.Answer,
                new Dictionary<string, string>(),
                new Dictionary<string, double> { [Accuracy] = r.IsGreedy ? 1 : 0 },
                new JsonObject { ["ops"] = d.Ops, ["logprob"] = r.LogProb });
        }).ToList();
    }

    /// <summary>Generated problems as documents, indexed in order.</summary>
    public static IReadOnlyList<ChainDoc> Of(IEnumerable<Data.ChainProblem> problems) =>
        problems.Select((p, i) => new ChainDoc(i, p.Question, p.Answer, p.Ops)).ToList();

    /// <summary>Loads <c>question</c>, <c>answer</c> and <c>ops</c> from every row of a JSONL file.</summary>
    public static IReadOnlyList<ChainDoc> Load(string path)
    {
        var rows = EvalJsonl.Read(path);
        var docs = new List<ChainDoc>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var prompt = EvalJsonl.Text(path, row, "question");
            var answer = EvalJsonl.Text(path, row, "answer");
            var ops = EvalJsonl.Text(path, row, "ops");
            if (!int.TryParse(ops, out var k) || k < 1)
                throw new DeepenException($"{path}:{row.Line}: field 'ops' is '{ops}'; expected a positive integer (the number of operations).");
            if (answer.Length == 0) throw new DeepenException($"{path}:{row.Line}: field 'answer' is empty.");
            docs.Add(new ChainDoc(i, prompt, answer, k));
        }
        return docs;
    }
}
