// Members of the gateway's newer Newtonsoft.Json (11+) missing from Debian's 6.0.8; the newer
// library's documented behaviour is what APIM runs (expressions.md §10).
using Newtonsoft.Json.Linq;

public static class Newtonsoft12
{
    // JObject.ContainsKey(string) (Newtonsoft.Json 11.0.1): ordinal property-name lookup.
    public static bool ContainsKey(this JObject o, string propertyName)
    {
        return o.Property(propertyName) != null;
    }
}
