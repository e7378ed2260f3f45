namespace Deepen.Tokenization;

/// <summary>
/// The special ids <see cref="TextTokenizer.Encode"/> puts around the encoded text: the tokenizer file's own
/// prefix and suffix, with BOS and EOS added or removed where tokenizer_config.json says so explicitly.
/// </summary>
internal sealed record SpecialTokenFraming(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    /// <summary>
    /// Starts from the file's own prefix and suffix. When <paramref name="addBos"/> is true and the prefix does not
    /// start with <paramref name="bosId"/>, BOS is prepended; when it is false and the prefix starts with BOS, that
    /// BOS is dropped; null keeps the file's rule. EOS works the same way at the end of the suffix.
    /// </summary>
    public static SpecialTokenFraming Resolve(
        IReadOnlyList<int> ownPrefix, IReadOnlyList<int> ownSuffix, bool? addBos, bool? addEos, int? bosId, int? eosId)
    {
        var prefix = ownPrefix.ToList();
        var suffix = ownSuffix.ToList();
        if (bosId is int bos)
        {
            var hasBos = prefix.Count > 0 && prefix[0] == bos;
            if (addBos == true && !hasBos) prefix.Insert(0, bos);
            if (addBos == false && hasBos) prefix.RemoveAt(0);
        }
        if (eosId is int eos)
        {
            var hasEos = suffix.Count > 0 && suffix[^1] == eos;
            if (addEos == true && !hasEos) suffix.Add(eos);
            if (addEos == false && hasEos) suffix.RemoveAt(suffix.Count - 1);
        }
        return new SpecialTokenFraming(prefix, suffix);
    }

    /// <summary>Returns prefix + body + suffix.</summary>
    public int[] Frame(int[] body) => Prefix.Count == 0 && Suffix.Count == 0 ? body : [.. Prefix, .. body, .. Suffix];
}
