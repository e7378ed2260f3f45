using System.Text.Json.Nodes;
using Deepen.Modeling;

namespace Deepen.Tests.Modeling;

/// <summary>Raven configs that omit keys get the authors' config-class defaults, or an error naming the key.</summary>
public class RavenConfigDefaultsTests
{
    private static JsonObject Fixture() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureModel("raven-llama-tiny"), "config.json")))!.AsObject();

    private static RecurrentConfig Parse(JsonObject j) => RecurrentConfig.Parse(j, "x/config.json", BlockStyle.PreNorm);

    [Fact]
    public void AFullConfigKeepsItsOwnValues()
    {
        var j = Fixture();
        var c = Parse(j);
        Assert.Equal(j["norm_eps"]!.GetValue<double>(), c.Block.RmsNormEps);
        Assert.Equal(j["rope_theta"]!.GetValue<double>(), c.Block.RopeTheta);
        Assert.Equal(j["init_values"]!["std"]!.GetValue<double>(), c.InitStd);
        Assert.Equal(j["init_values"]!["embed_scale"]!.GetValue<double>(), c.EmbedScale);
    }

    [Fact]
    public void MissingNormEpsAndInitValuesTakeTheAuthorsDefaults()
    {
        var j = Fixture();
        j.Remove("norm_eps");
        j.Remove("init_values");
        var c = Parse(j);
        int d = j["n_embd"]!.GetValue<int>();
        Assert.Equal(1e-6, c.Block.RmsNormEps);
        Assert.Equal(Math.Sqrt(2.0 / (5.0 * d)), c.InitStd, 15);
        Assert.Equal(Math.Sqrt(d), c.EmbedScale, 15);
    }

    [Theory]
    [InlineData("rope_theta", "'rope_theta'")]
    [InlineData("tie_embeddings", "'tie_embeddings' is missing (the authors' default is true)")]
    public void MissingKeysWithoutASafeDefaultAreNamed(string key, string message)
    {
        var j = Fixture();
        j.Remove(key);
        var e = Assert.Throws<DeepenException>(() => Parse(j));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ATiedHeadIsRefusedAndAPartialInitValuesNamesItsKey()
    {
        var j = Fixture();
        j["tie_embeddings"] = true;
        Assert.Contains("'tie_embeddings' is true", Assert.Throws<DeepenException>(() => Parse(j)).Message);
        j = Fixture();
        j["init_values"]!.AsObject().Remove("embed_scale");
        Assert.Contains("init_values: missing required key 'embed_scale'", Assert.Throws<DeepenException>(() => Parse(j)).Message);
    }
}
