// APIM's extension methods (expressions.md §4.5, §4.12, §5) and the host clock the cases see.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Newtonsoft.Json.Linq;

public static class Extensions
{
    // Header / query / claim dictionaries: all values joined with ','.
    public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> dict, string name, string defaultValue)
    {
        string[] values;
        if (dict.TryGetValue(name, out values)) return string.Join(",", values);
        return defaultValue;
    }

    public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> dict, string name)
    {
        return GetValueOrDefault(dict, name, null);
    }

    // context.Variables: the stored value cast to T (InvalidCastException on a type mismatch).
    public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> dict, string name, T defaultValue)
    {
        object value;
        if (dict.TryGetValue(name, out value)) return (T)value;
        return defaultValue;
    }

    public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> dict, string name)
    {
        return GetValueOrDefault<T>(dict, name, default(T));
    }

    static byte[] Base64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        switch (b.Length % 4)
        {
            case 2: b += "=="; break;
            case 3: b += "="; break;
            case 1: throw new FormatException("invalid base64url");
        }
        return Convert.FromBase64String(b);
    }

    static string ClaimText(JToken v)
    {
        if (v.Type == JTokenType.String) return (string)v;
        if (v.Type == JTokenType.Boolean) return (bool)v ? "true" : "false";
        return v.ToString(Newtonsoft.Json.Formatting.None);
    }

    static DateTime? Epoch(JObject payload, string name)
    {
        JToken t;
        if (!payload.TryGetValue(name, out t) || (t.Type != JTokenType.Integer && t.Type != JTokenType.Float)) return null;
        return new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds((double)t);
    }

    // Parses a JWT without validating it; null when the text is not a JWT. A leading
    // "Bearer " scheme is tolerated (docs call AsJwt on the raw Authorization header).
    public static Jwt AsJwt(this string value)
    {
        Jwt jwt;
        return TryParseJwt(value, out jwt) ? jwt : null;
    }

    public static bool TryParseJwt(this string value, out Jwt result)
    {
        result = null;
        if (value == null) return false;
        var token = value.Trim();
        if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = token.Substring(7).Trim();
        var parts = token.Split('.');
        if (parts.Length != 3) return false;
        JObject header, payload;
        try
        {
            header = JObject.Parse(Encoding.UTF8.GetString(Base64Url(parts[0])));
            payload = JObject.Parse(Encoding.UTF8.GetString(Base64Url(parts[1])));
        }
        catch (Exception)
        {
            return false;
        }
        var claims = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var p in payload.Properties())
            claims[p.Name] = p.Value.Type == JTokenType.Array ? p.Value.Select(ClaimText).ToArray() : new[] { ClaimText(p.Value) };
        JToken aud;
        var audiences = payload.TryGetValue("aud", out aud)
            ? (aud.Type == JTokenType.Array ? aud.Select(ClaimText).ToArray() : new[] { ClaimText(aud) })
            : new string[0];
        result = new Jwt
        {
            Algorithm = (string)header["alg"],
            Type = (string)header["typ"],
            Audiences = audiences,
            Claims = claims,
            ExpirationTime = Epoch(payload, "exp"),
            NotBefore = Epoch(payload, "nbf"),
            IssuedAt = Epoch(payload, "iat"),
            Id = payload["jti"] == null ? null : ClaimText(payload["jti"]),
            Issuer = payload["iss"] == null ? null : ClaimText(payload["iss"]),
            Subject = payload["sub"] == null ? null : ClaimText(payload["sub"]),
        };
        return true;
    }

    // Parses "Basic base64(user:password)"; null when it is not a Basic credential.
    public static BasicAuthCredentials AsBasic(this string value)
    {
        BasicAuthCredentials c;
        return TryParseBasic(value, out c) ? c : null;
    }

    public static bool TryParseBasic(this string value, out BasicAuthCredentials result)
    {
        result = null;
        if (value == null) return false;
        var v = value.Trim();
        if (!v.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(v.Substring(6).Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        var colon = decoded.IndexOf(':');
        if (colon < 0) return false;
        result = new BasicAuthCredentials(decoded.Substring(0, colon), decoded.Substring(colon + 1));
        return true;
    }
}

// The generator rewrites DateTime.Now/UtcNow/Today and DateTimeOffset.Now/UtcNow to these, so
// "now" is the context's Timestamp + Elapsed on both sides (CONTRACTS.md §C: the gateway is UTC).
public static class OracleHost
{
    public static IContext Current;

    static DateTime Utc()
    {
        var t = Current.Timestamp + Current.Elapsed;
        return DateTime.SpecifyKind(t, DateTimeKind.Utc);
    }

    public static DateTime UtcNow { get { return Utc(); } }
    public static DateTime Now { get { return DateTime.SpecifyKind(Utc(), DateTimeKind.Local); } }
    public static DateTime Today { get { return DateTime.SpecifyKind(Utc().Date, DateTimeKind.Local); } }
    public static DateTimeOffset OffsetUtcNow { get { return new DateTimeOffset(Utc()); } }
    public static DateTimeOffset OffsetNow { get { return new DateTimeOffset(Utc()); } }
}
