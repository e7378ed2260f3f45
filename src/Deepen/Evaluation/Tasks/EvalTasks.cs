using Deepen.Inference;

namespace Deepen.Evaluation.Tasks;

/// <summary>The named tasks (<c>--task</c>), built from <see cref="EvalTaskOptions"/>.</summary>
public static class EvalTasks
{
    /// <summary>Task names <see cref="Create"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gsm8k-cot", "gsm8k", "qa-jsonl", "choice", "chain"];

    /// <summary>lm-eval's stop strings for <c>gsm8k-cot</c>.</summary>
    public static IReadOnlyList<string> CotStops { get; } = ["Q:", "</s>", "<|im_end|>"];

    /// <summary>lm-eval's stop strings for plain <c>gsm8k</c>.</summary>
    public static IReadOnlyList<string> QuestionStops { get; } = ["Question:", "</s>", "<|im_end|>"];

    /// <summary>Builds the task <paramref name="name"/>.</summary>
    public static IEvalTask Create(string name, EvalTaskOptions o) => name switch
    {
        "gsm8k-cot" => Gsm8kCot(o),
        "gsm8k" => Gsm8k(o),
        "qa-jsonl" => QaJsonl(o),
        "choice" => Choice(o),
        "chain" => Chain(o),
        _ => throw new DeepenException($"task '{name}' is unknown; expected one of {string.Join(", ", Names)}."),
    };

    /// <summary>
    /// lm-eval's <c>gsm8k-cot</c> with the paper's prompt: <c>"Q: {question}\nA: Let's think step by step."</c>,
    /// k = 1 exemplar by default (from <see cref="EvalTaskOptions.FewshotFile"/>, else the project's own),
    /// greedy, stop at <c>Q:</c>, <c>&lt;/s&gt;</c>, <c>&lt;|im_end|&gt;</c> and EOS.
    /// </summary>
    public static GenerativeQaTask Gsm8kCot(EvalTaskOptions o)
    {
        var shots = Shots(o.FewshotFile is null ? DefaultExemplars.Cot : QaDataset.LoadExemplars(o.FewshotFile), o.NumFewshot ?? 1,
            o.FewshotFile ?? "the built-in exemplar (pass `fewshot_file` for more)");
        return new GenerativeQaTask("gsm8k-cot", Pick(o, QaDataset.Load(o.Data, new QaFields())), shots, QaPromptFormat.Gsm8kCot,
            new GenerationRequest(CotStops, o.MaxNewTokens), AnswerExtraction.CotStrictPattern);
    }

    /// <summary>
    /// lm-eval's plain <c>gsm8k</c>: <c>"Question: {question}\nAnswer:"</c>, the first k = 5 training
    /// solutions as exemplars (or a few-shot file), stop at <c>Question:</c>, <c>&lt;/s&gt;</c>,
    /// <c>&lt;|im_end|&gt;</c>; strict = <c>#### N</c>.
    /// </summary>
    public static GenerativeQaTask Gsm8k(EvalTaskOptions o)
    {
        int k = o.NumFewshot ?? 5;
        IReadOnlyList<QaExemplar> pool;
        string source;
        if (o.FewshotFile is not null) (pool, source) = (QaDataset.LoadExemplars(o.FewshotFile), o.FewshotFile);
        else if (k == 0) (pool, source) = ([], "");
        else
        {
            var train = o.TrainFile ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(o.Data))!, "train.jsonl");
            if (o.TrainFile is null && !File.Exists(train))
            {
                if (k > 1)
                    throw new DeepenException($"gsm8k: {k}-shot needs exemplars: no train.jsonl beside {o.Data}; pass `train_file` or `fewshot_file`, or `num_fewshot` 1 for the built-in exemplar.");
                (pool, source) = (DefaultExemplars.Solution, "the built-in exemplar");
            }
            // lm-eval shows the training solution itself (doc_to_target = answer) after "Answer:".
            else (pool, source) = (QaDataset.Load(train).Select(d => new QaExemplar(d.Row, d.Question, d.Answer)).ToList(), train);
        }
        return new GenerativeQaTask("gsm8k", Pick(o, QaDataset.Load(o.Data, new QaFields())), Shots(pool, k, source), QaPromptFormat.Gsm8k,
            new GenerationRequest(QuestionStops, o.MaxNewTokens), AnswerExtraction.HashStrictPattern);
    }

    /// <summary>
    /// Any question-answer JSONL (SVAMP, MAWPS, ASDiv, ...) scored like GSM8K, with field names, prompt
    /// template, gold pattern and strict pattern from the options; 0-shot unless exemplars are given.
    /// </summary>
    public static GenerativeQaTask QaJsonl(EvalTaskOptions o)
    {
        var format = new QaPromptFormat(o.PromptTemplate ?? "Question: {question}\nAnswer:");
        int k = o.NumFewshot ?? (o.FewshotFile is null ? 0 : 1);
        var pool = o.FewshotFile is null ? [] : QaDataset.LoadExemplars(o.FewshotFile, o.Fields);
        var stops = o.StopStrings ?? DefaultStops(format.Template);
        return new GenerativeQaTask("qa-jsonl", Pick(o, QaDataset.Load(o.Data, o.Fields)), Shots(pool, k, o.FewshotFile ?? ""), format,
            new GenerationRequest(stops, o.MaxNewTokens), o.StrictPattern ?? AnswerExtraction.CotStrictPattern,
            numericMatch: o.NumericMatch ?? true);
    }

    /// <summary>Multiple choice by log-likelihood, 0-shot.</summary>
    public static ChoiceTask Choice(EvalTaskOptions o) => new("choice", Pick(o, ChoiceTask.Load(o.Data, o.ChoiceFields)), length: o.ChoiceLength);

    /// <summary>Direct one-answer problems (<c>deepen data synth-chain</c>) scored by whether greedy decoding gives the answer.</summary>
    public static ChainTask Chain(EvalTaskOptions o) => new("chain", Pick(o, ChainTask.Load(o.Data)));

    /// <summary>The stop strings for a template: the text before its first ':' with the colon (e.g. "Question:"), then "&lt;/s&gt;" and "&lt;|im_end|&gt;".</summary>
    public static IReadOnlyList<string> DefaultStops(string template)
    {
        int colon = template.IndexOf(':');
        var head = colon > 0 && !template[..colon].Contains('{') && !template[..colon].Contains('\n') ? template[..(colon + 1)] : null;
        return head is null ? ["</s>", "<|im_end|>"] : [head, "</s>", "<|im_end|>"];
    }

    /// <summary>The documents <see cref="DocSelection.Select"/> picks under <c>--limit</c>, in order.</summary>
    private static List<T> Pick<T>(EvalTaskOptions o, IReadOnlyList<T> all) =>
        DocSelection.Select(all.Count, o.Limit, o.Seed).Select(i => all[i]).ToList();

    private static IReadOnlyList<QaExemplar> Shots(IReadOnlyList<QaExemplar> pool, int k, string source)
    {
        if (k < 0) throw DeepenException.BadSetting("num_fewshot", $"{k}: expected 0 or more.");
        if (k > 0 && pool.Count == 0) throw DeepenException.BadSetting("num_fewshot", $"{k}: no exemplars; pass `fewshot_file` (JSONL with question and target).");
        if (k > pool.Count) throw DeepenException.BadSetting("num_fewshot", $"{k}: {source} has {pool.Count} exemplar(s).");
        return pool.Take(k).ToList();
    }
}
