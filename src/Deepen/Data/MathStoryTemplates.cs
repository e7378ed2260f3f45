namespace Deepen.Data;

/// <summary>The four sequential operations of a synthetic problem.</summary>
internal enum MathOp { Add, Subtract, Multiply, Divide }

/// <summary>
/// One way to tell an operation: <paramref name="Question"/> is a verb phrase that follows the subject
/// ("buys {n} more"); <paramref name="Step"/> leads the worked line ("After buying {n} more, {who} has").
/// </summary>
internal sealed record OpPhrase(string Question, string Step);

/// <summary>
/// A story: who acts (a named person, or a fixed subject such as "The bakery"), what is counted, and the
/// phrasings of each operation. Placeholders: {Name} {his} {who} {n} {times} {frac} {others} {objs} {v}.
/// </summary>
internal sealed record StoryTemplate(
    string Key,
    string? Subject,
    string Who,
    string Its,
    (string One, string Many)[] Objects,
    string[] Intros,
    string Question,
    OpPhrase[] Add,
    OpPhrase[] Subtract,
    OpPhrase[] Multiply,
    OpPhrase[] Divide)
{
    /// <summary>True when the actor is a named person referred to by a pronoun after the intro.</summary>
    public bool PersonSubject => Subject is null;

    public OpPhrase[] Phrases(MathOp op) => op switch
    {
        MathOp.Add => Add,
        MathOp.Subtract => Subtract,
        MathOp.Multiply => Multiply,
        _ => Divide,
    };
}

/// <summary>The story templates, names and number words the synthetic math generator draws from.</summary>
internal static class MathStoryTemplates
{
    public static readonly (string Name, bool Female)[] Names =
    [
        ("Mia", true), ("Liam", false), ("Ava", true), ("Noah", false), ("Sofia", true), ("Ethan", false),
        ("Zara", true), ("Omar", false), ("Lena", true), ("Raj", false), ("Chloe", true), ("Mateo", false),
        ("Aisha", true), ("Ben", false), ("Yuki", true), ("Diego", false), ("Nora", true), ("Sam", false),
        ("Priya", true), ("Leo", false),
    ];

    /// <summary>"half", "a third", ... for divisors 2–10.</summary>
    public static string Fraction(int n) => n switch
    {
        2 => "half", 3 => "a third", 4 => "a quarter", 5 => "a fifth", 6 => "a sixth",
        7 => "a seventh", 8 => "an eighth", 9 => "a ninth", 10 => "a tenth",
        _ => throw new ArgumentOutOfRangeException(nameof(n), n, "divisors are 2..10"),
    };

    private static readonly OpPhrase[] KeepFraction =
    [
        new("keeps only {frac} of them and gives the rest away", "Keeping {frac} of them, {who} has"),
    ];

    public static readonly StoryTemplate[] All =
    [
        new("fruit", null, "{Name}", "{his}",
            [("apple", "apples"), ("orange", "oranges"), ("peach", "peaches"), ("pear", "pears"), ("plum", "plums"), ("lemon", "lemons")],
            ["{Name} has {v} {objs}.", "{Name} picks {v} {objs} at the orchard."],
            "How many {objs} does {Name} have now?",
            Add: [new("buys {n} more", "After buying {n} more, {who} has"),
                  new("picks {n} more from the tree", "After picking {n} more, {who} has"),
                  new("gets {n} more from a neighbor", "After getting {n} more, {who} has")],
            Subtract: [new("eats {n} of them", "After eating {n}, {who} has"),
                       new("gives {n} to a friend", "After giving away {n}, {who} has"),
                       new("uses {n} to bake a pie", "After using {n}, {who} has")],
            Multiply: [new("ends up with {times} as many after a big harvest", "With {times} as many, {who} has"),
                       new("fills the basket until there are {times} as many", "With {times} as many, {who} has")],
            Divide: [.. KeepFraction,
                     new("shares them equally with {others} and keeps {his} share", "Sharing them equally among {n} people, {who} keeps"),
                     new("packs them equally into {n} bags and keeps one bag", "One of {n} equal bags holds")]),

        new("collection", null, "{Name}", "{his}",
            [("sticker", "stickers"), ("trading card", "trading cards"), ("stamp", "stamps"), ("marble", "marbles"), ("seashell", "seashells")],
            ["{Name} has a collection of {v} {objs}.", "{Name} owns {v} {objs}."],
            "How many {objs} does {Name} have now?",
            Add: [new("trades for {n} more", "After trading for {n} more, {who} has"),
                  new("wins {n} more in a game", "After winning {n} more, {who} has"),
                  new("receives {n} more as a birthday gift", "After receiving {n} more, {who} has")],
            Subtract: [new("loses {n} of them", "After losing {n}, {who} has"),
                       new("trades away {n}", "After trading away {n}, {who} has"),
                       new("gives {n} to a younger cousin", "After giving away {n}, {who} has")],
            Multiply: [new("gets enough new ones to have {times} as many", "With {times} as many, {who} has")],
            Divide: [.. KeepFraction,
                     new("shares them equally with {others} and keeps {his} share", "Sharing them equally among {n} people, {who} keeps")]),

        new("bakery", "The bakery", "the bakery", "its",
            [("cookie", "cookies"), ("muffin", "muffins"), ("cupcake", "cupcakes"), ("bagel", "bagels"), ("bread roll", "bread rolls")],
            ["A bakery has {v} {objs} on its shelves.", "In the morning, a bakery has {v} {objs} ready."],
            "How many {objs} does the bakery have now?",
            Add: [new("bakes {n} more", "After baking {n} more, {who} has"),
                  new("gets a delivery of {n} more", "After a delivery of {n}, {who} has")],
            Subtract: [new("sells {n} of them to customers", "After selling {n}, {who} has"),
                       new("sends {n} to a café", "After sending away {n}, {who} has")],
            Multiply: [new("bakes enough for a festival to have {times} as many", "With {times} as many, {who} has")],
            Divide: [new("keeps only {frac} of them and donates the rest", "Keeping {frac} of them, {who} has"),
                     new("packs them equally onto {n} trays and keeps just one tray", "One of {n} equal trays holds")]),

        new("farm", "The farmer", "the farm", "his",
            [("chicken", "chickens"), ("sheep", "sheep"), ("goat", "goats"), ("duck", "ducks"), ("cow", "cows")],
            ["A farm has {v} {objs}.", "There are {v} {objs} on a farm."],
            "How many {objs} are on the farm now?",
            Add: [new("buys {n} more", "After buying {n} more, {who} has"),
                  new("brings home {n} more from a fair", "After bringing home {n} more, {who} has")],
            Subtract: [new("sells {n} at the market", "After selling {n}, {who} has"),
                       new("gives {n} to a neighboring farm", "After giving away {n}, {who} has")],
            Multiply: [new("breeds them until there are {times} as many", "With {times} as many, {who} has")],
            Divide: [new("sells all but {frac} of them", "Keeping {frac} of them, {who} has"),
                     new("splits them equally among {n} farms and keeps one share", "One of {n} equal shares is")]),

        new("savings", null, "{Name}", "{his}",
            [("dollar", "dollars")],
            ["{Name} has {v} {objs} in a piggy bank.", "{Name} has saved {v} {objs}."],
            "How many {objs} does {Name} have now?",
            Add: [new("earns {n} more by mowing lawns", "After earning {n} more, {who} has"),
                  new("gets {n} more from a grandparent", "After getting {n} more, {who} has")],
            Subtract: [new("spends {n} on a book", "After spending {n}, {who} has"),
                       new("pays {n} for a concert ticket", "After paying {n}, {who} has")],
            Multiply: [new("invests the money and ends up with {times} as much", "With {times} as much, {who} has")],
            Divide: [new("keeps only {frac} of the money and donates the rest", "Keeping {frac} of it, {who} has"),
                     new("splits the money equally into {n} envelopes and keeps one envelope", "One of {n} equal envelopes holds")]),

        new("library", "The library", "the library", "its",
            [("book", "books"), ("magazine", "magazines"), ("comic book", "comic books"), ("atlas", "atlases")],
            ["A library has {v} {objs}.", "A small town library owns {v} {objs}."],
            "How many {objs} does the library have now?",
            Add: [new("receives a donation of {n} more", "After a donation of {n}, {who} has"),
                  new("buys {n} new ones", "After buying {n} more, {who} has")],
            Subtract: [new("lends out {n} of them", "After lending out {n}, {who} has"),
                       new("throws away {n} damaged ones", "After removing {n}, {who} has")],
            Multiply: [new("grows its collection to {times} as many", "With {times} as many, {who} has")],
            Divide: [new("sends all but {frac} of them to other branches", "Keeping {frac} of them, {who} has"),
                     new("divides them equally among {n} branches and keeps one share", "One of {n} equal shares is")]),

        new("garden", null, "{Name}", "{his}",
            [("tulip", "tulips"), ("rose bush", "rose bushes"), ("tomato plant", "tomato plants"), ("sunflower", "sunflowers")],
            ["{Name} plants {v} {objs} in a garden.", "{Name} grows {v} {objs} in the backyard."],
            "How many {objs} does {Name} have now?",
            Add: [new("plants {n} more", "After planting {n} more, {who} has"),
                  new("buys {n} more at the nursery", "After buying {n} more, {who} has")],
            Subtract: [new("gives {n} to a neighbor", "After giving away {n}, {who} has"),
                       new("loses {n} to hungry rabbits", "After losing {n}, {who} has")],
            Multiply: [new("has {times} as many by the next season", "With {times} as many, {who} has")],
            Divide: [new("digs up all but {frac} of them", "Keeping {frac} of them, {who} has"),
                     new("splits them equally into {n} rows and keeps one row", "One of {n} equal rows has")]),

        new("classroom", null, "{Name}", "{his}",
            [("pencil", "pencils"), ("crayon", "crayons"), ("marker", "markers"), ("eraser", "erasers"), ("notebook", "notebooks")],
            ["{Name} has {v} {objs} for art class.", "{Name} brings {v} {objs} to school."],
            "How many {objs} does {Name} have now?",
            Add: [new("buys a pack of {n} more", "After buying {n} more, {who} has"),
                  new("finds {n} more in a drawer", "After finding {n} more, {who} has")],
            Subtract: [new("hands out {n} to classmates", "After handing out {n}, {who} has"),
                       new("loses {n} on the bus", "After losing {n}, {who} has")],
            Multiply: [new("orders enough to have {times} as many", "With {times} as many, {who} has")],
            Divide: [.. KeepFraction,
                     new("shares them equally among {n} tables and keeps one table's share", "One of {n} equal shares is")]),
    ];
}
