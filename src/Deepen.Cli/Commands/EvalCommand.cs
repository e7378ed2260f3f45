using System.CommandLine;
using Deepen.Checkpoints;
using Deepen.Evaluation;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen eval</c>: a task on one or more models at each test-time recurrence (<see cref="ModelSweep"/>); prints the
/// table of metrics against recurrence and writes <c>results.json</c>, <c>report.md</c>, <c>samples.jsonl</c> and a plot.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string[]>("--model") { Description = "Model directory (recurrent or plain, with its tokenizer); repeat to compare models in one table and plot.", Required = true };
        var label = new Option<string[]>("--label") { Description = "A name per --model for tables and plots (default: the directory names)." };
        var task = new Option<string>("--task") { Description = $"One of {string.Join(", ", ModelSweep.TaskNames)}.", Required = true };
        var data = new Option<string>("--data") { Description = "Evaluation data: JSONL (gsm8k-cot, gsm8k, qa-jsonl, choice), or a token shard / folder with val.tokens (loss).", Required = true };
        var recurrence = new Option<string[]>("--recurrence") { Description = "Test-time recurrences of recurrent models, e.g. 1,2,4,8,16,32 (the default; loss: up to 64). Plain models run once.", AllowMultipleArgumentsPerToken = true };
        var limit = new Option<int?>("--limit") { Description = "Evaluate the first N documents (loss: the first ⌈N / batch size⌉ batches of rows)." };
        var limitSeed = new Option<int?>("--limit-seed") { Description = "With --limit: pick the documents by a seeded shuffle instead of taking the first N." };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Token budget per generation (lm-eval's max_gen_toks).", DefaultValueFactory = _ => 256 };
        var batchSize = new Option<int>("--batch-size") { Description = "Prompts per generation batch (rows per batch for loss).", DefaultValueFactory = _ => 32 };
        var numFewshot = new Option<int?>("--num-fewshot") { Description = "Exemplars per prompt (gsm8k-cot 1, gsm8k 5, qa-jsonl 0 by default)." };
        var fewshotFile = new Option<string?>("--fewshot-file") { Description = "Few-shot exemplars: JSONL with the question field and 'target' (or the answer field)." };
        var trainFile = new Option<string?>("--train-file") { Description = "gsm8k: training JSONL whose first k solutions are the exemplars (default: train.jsonl beside --data)." };
        var seed = new Option<long>("--seed") { Description = "Seed of the recurrent models' initial-state noise (loss: also the held-out row order).", DefaultValueFactory = _ => 0 };
        var state = new Option<string>("--state") { Description = "Recurrent models' initial state: random (seeded noise, the method's default) or zeros (results then independent of --batch-size).", DefaultValueFactory = _ => "random" };
        var device = DeviceFlag.Create();
        var dtype = new Option<string>("--dtype") { Description = "float32 (as the paper evaluated) or bfloat16.", DefaultValueFactory = _ => "float32" };
        var questionField = new Option<string>("--question-field") { Description = "qa-jsonl: the question field.", DefaultValueFactory = _ => "question" };
        var answerField = new Option<string>("--answer-field") { Description = "qa-jsonl: the answer field (a solution ending in '#### N', or the answer).", DefaultValueFactory = _ => "answer" };
        var targetField = new Option<string>("--target-field") { Description = "qa-jsonl: the exemplars' text after the question (default: the answer field when absent).", DefaultValueFactory = _ => "target" };
        var goldPattern = new Option<string?>("--gold-pattern") { Description = "qa-jsonl: regex that finds the gold answer in the answer field (group 1); default: after the last '####', else the whole answer." };
        var promptTemplate = new Option<string?>("--prompt-template") { Description = "qa-jsonl: the prompt, with {question} or any {field} (default \"Question: {question}\\nAnswer:\")." };
        var strictPattern = new Option<string?>("--strict-pattern") { Description = "qa-jsonl: the strict filter's regex (default lm-eval's 'The answer is N.')." };
        var stop = new Option<string[]>("--stop") { Description = "qa-jsonl: stop string (repeatable; default: the template's first label, </s>, <|im_end|>)." };
        var exactOnly = new Option<bool>("--exact-match-only") { Description = "qa-jsonl: count only textually equal answers (lm-eval's rule), not numerically equal ones ('8' vs '8.0')." };
        var contextField = new Option<string>("--context-field") { Description = "choice: the context field.", DefaultValueFactory = _ => "context" };
        var choicesField = new Option<string>("--choices-field") { Description = "choice: the field with the list of choices.", DefaultValueFactory = _ => "choices" };
        var labelField = new Option<string>("--label-field") { Description = "choice: the field with the correct choice's index.", DefaultValueFactory = _ => "label" };
        var choiceLength = new Option<string>("--choice-length") { Description = "choice: acc_norm's length unit: chars (lm-eval) or bytes.", DefaultValueFactory = _ => "chars" };
        var noPlot = new Option<bool>("--no-plot") { Description = "Do not write the PNG plot." };
        var outDir = new Option<string>("--out") { Description = "Output folder: results.json, report.md, samples.jsonl, {task}.png.", Required = true };

        var cmd = new Command("eval", "Evaluate models on a task at each test-time recurrence: table, results.json, samples.jsonl and a plot of the metrics against recurrence.")
        {
            model, label, task, data, recurrence, limit, limitSeed, maxNewTokens, batchSize, numFewshot, fewshotFile, trainFile, seed, state, dtype, device,
            questionField, answerField, targetField, goldPattern, promptTemplate, strictPattern, stop, exactOnly,
            contextField, choicesField, labelField, choiceLength, noPlot, outDir,
        };
        cmd.Handle(parse =>
        {
            var taskName = parse.GetValue(task)!;
            var stops = parse.GetValue(stop);
            var taskOptions = new EvalTaskOptions
            {
                Data = parse.GetValue(data)!,
                FewshotFile = parse.GetValue(fewshotFile),
                TrainFile = parse.GetValue(trainFile),
                NumFewshot = parse.GetValue(numFewshot),
                Limit = parse.GetValue(limit),
                Seed = parse.GetValue(limitSeed),
                MaxNewTokens = CliRunner.Positive(parse.GetValue(maxNewTokens), "--max-new-tokens"),
                Fields = new QaFields(parse.GetValue(questionField)!, parse.GetValue(answerField)!, parse.GetValue(targetField)!, parse.GetValue(goldPattern)),
                PromptTemplate = parse.GetValue(promptTemplate),
                StrictPattern = parse.GetValue(strictPattern),
                StopStrings = stops is { Length: > 0 } ? stops : null,
                NumericMatch = parse.GetValue(exactOnly) ? false : null,
                ChoiceFields = new ChoiceFields(parse.GetValue(contextField)!, parse.GetValue(choicesField)!, parse.GetValue(labelField)!),
                ChoiceLength = parse.GetValue(choiceLength) switch
                {
                    "chars" => ChoiceLength.Chars,
                    "bytes" => ChoiceLength.Bytes,
                    var v => throw new DeepenException($"--choice-length '{v}': expected chars or bytes."),
                },
            };
            var options = new ModelSweepOptions
            {
                Recurrences = ModelSweep.ParseRecurrences(parse.GetValue(recurrence)),
                BatchSize = CliRunner.Positive(parse.GetValue(batchSize), "--batch-size"),
                Seed = parse.GetValue(seed),
                InitialState = InferenceFlags.ParseState(parse.GetValue(state)),
                DType = HfModel.ParseDType(parse.GetValue(dtype)!),
                Device = DeviceFlag.Resolve(parse, device),
                OutputDir = parse.GetValue(outDir)!,
                Plots = !parse.GetValue(noPlot),
                Log = line => Console.Error.WriteLine(line),
            };
            bool bar = ConsoleProgress.Interactive;
            var models = ModelSweep.Label(parse.GetValue(model) ?? [], parse.GetValue(label));

            // On a terminal a redrawn bar per pass replaces the per-batch lines; redirected output keeps them.
            var sweep = ConsoleProgress.Run((log, progress) => ModelSweep.Run(models, taskName, taskOptions,
                bar ? options with { Log = line => { if (!line.Contains(" requests (", StringComparison.Ordinal)) log(line); }, Progress = progress } : options));

            foreach (var t in sweep.Tasks)
            {
                Console.WriteLine($"{t} against test-time recurrence:");
                Console.Write(SweepReport.TextTable(sweep, t));
            }
            var written = new[] { SweepReport.ResultsFile, SweepReport.ReportFile, SweepReport.SamplesFile }
                .Concat(sweep.Tasks.Select(SweepReport.PlotFileName))
                .Where(f => File.Exists(Path.Combine(options.OutputDir, f)));
            Console.WriteLine($"wrote {string.Join(", ", written)} to {options.OutputDir}");
        });
        return cmd;
    }
}
