namespace Deepen.Training;

/// <summary>Placeholder for the resolved-config writer (replaced by TrainConfigFile.ToYaml at merge).</summary>
internal static class TrainConfigYaml
{
    public static string Write(TrainConfig c) => c.ToString();
}
