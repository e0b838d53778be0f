// The APIM `context` object model (expressions.md §4-5), built from the eval context file
// (CONTRACTS.md §A). Compiled together with the generated cases by the oracle runner.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Xml.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

public interface IUrl
{
    string Scheme { get; }
    string Host { get; }
    int Port { get; }
    string Path { get; }
    IReadOnlyDictionary<string, string[]> Query { get; }
    string QueryString { get; }
    Uri ToUri();
}

public interface IMessageBody
{
    T As<T>(bool preserveContent = false);
    IDictionary<string, IList<string>> AsFormUrlEncodedContent(bool preserveContent = false);
}

public interface IRequest
{
    IMessageBody Body { get; }
    IReadOnlyDictionary<string, string[]> Headers { get; }
    string IpAddress { get; }
    IReadOnlyDictionary<string, string> MatchedParameters { get; }
    string Method { get; }
    IUrl OriginalUrl { get; }
    IUrl Url { get; }
}

public interface IResponse
{
    IMessageBody Body { get; }
    IReadOnlyDictionary<string, string[]> Headers { get; }
    int StatusCode { get; }
    string StatusReason { get; }
}

public interface IGroup { string Id { get; } string Name { get; } }
public interface IUserIdentity { string Id { get; } string Provider { get; } }

public interface ISubscription
{
    DateTime CreatedDate { get; }
    DateTime? EndDate { get; }
    string Id { get; }
    string Key { get; }
    string Name { get; }
    string PrimaryKey { get; }
    string SecondaryKey { get; }
    DateTime? StartDate { get; }
}

public interface IUser
{
    string Email { get; }
    string FirstName { get; }
    IEnumerable<IGroup> Groups { get; }
    string Id { get; }
    IEnumerable<IUserIdentity> Identities { get; }
    string LastName { get; }
    string Note { get; }
    DateTime RegistrationDate { get; }
}

public enum ProductState { NotPublished, Published }

public interface IProduct
{
    bool ApprovalRequired { get; }
    IEnumerable<IGroup> Groups { get; }
    string Id { get; }
    string Name { get; }
    ProductState State { get; }
    int? SubscriptionsLimit { get; }
    bool SubscriptionRequired { get; }
}

public interface ISubscriptionKeyParameterNames { string Header { get; } string Query { get; } }

public interface IApi
{
    string Id { get; }
    string Name { get; }
    string Path { get; }
    IEnumerable<string> Protocols { get; }
    IUrl ServiceUrl { get; }
    ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get; }
    bool IsCurrentRevision { get; }
    string Revision { get; }
    string Version { get; }
}

public interface IOperation { string Id { get; } string Method { get; } string Name { get; } string UrlTemplate { get; } }

public interface IGateway { string Id { get; } string InstanceId { get; } bool IsManaged { get; } }

public interface IDeployment
{
    IGateway Gateway { get; }
    string GatewayId { get; }
    string Region { get; }
    string ServiceId { get; }
    string ServiceName { get; }
}

public interface ILastError
{
    string Source { get; }
    string Reason { get; }
    string Message { get; }
    string Scope { get; }
    string Section { get; }
    string Path { get; }
    string PolicyId { get; }
}

public enum BackendType { Single, Pool }

public interface IBackend { string Id { get; } BackendType Type { get; } string AzureRegion { get; } }

public interface IWorkspace { string Id { get; } string Name { get; } }

public interface IContext
{
    IApi Api { get; }
    IBackend Backend { get; }
    IDeployment Deployment { get; }
    TimeSpan Elapsed { get; }
    ILastError LastError { get; }
    IOperation Operation { get; }
    IProduct Product { get; }
    IRequest Request { get; }
    Guid RequestId { get; }
    IResponse Response { get; }
    ISubscription Subscription { get; }
    DateTime Timestamp { get; }
    bool Tracing { get; }
    IUser User { get; }
    IReadOnlyDictionary<string, object> Variables { get; }
    IWorkspace Workspace { get; }
    void Trace(string message);
}

public class BasicAuthCredentials
{
    public BasicAuthCredentials(string userId, string password) { UserId = userId; Password = password; }
    public string UserId { get; private set; }
    public string Password { get; private set; }
}

public class Jwt
{
    public string Algorithm { get; internal set; }
    public IEnumerable<string> Audiences { get; internal set; }
    public IReadOnlyDictionary<string, string[]> Claims { get; internal set; }
    public DateTime? ExpirationTime { get; internal set; }
    public string Id { get; internal set; }
    public string Issuer { get; internal set; }
    public DateTime? IssuedAt { get; internal set; }
    public DateTime? NotBefore { get; internal set; }
    public string Subject { get; internal set; }
    public string Type { get; internal set; }
}

// The value get-authorization-context stores in its output variable.
public class Authorization
{
    public Authorization(string accessToken, IReadOnlyDictionary<string, object> claims) { AccessToken = accessToken; Claims = claims; }
    public string AccessToken { get; private set; }
    public IReadOnlyDictionary<string, object> Claims { get; private set; }
}

// ---------------------------------------------------------------------------------------------
// Implementations

sealed class OracleUrl : IUrl
{
    readonly Uri uri;
    readonly Dictionary<string, string[]> query;

    public OracleUrl(string text)
    {
        uri = new Uri(text, UriKind.Absolute);
        query = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var q = uri.Query.StartsWith("?") ? uri.Query.Substring(1) : uri.Query;
        var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var part in q.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var k = Uri.UnescapeDataString(eq < 0 ? part : part.Substring(0, eq));
            var v = eq < 0 ? "" : Uri.UnescapeDataString(part.Substring(eq + 1));
            List<string> l;
            if (!lists.TryGetValue(k, out l)) { l = new List<string>(); lists[k] = l; order.Add(k); }
            l.Add(v);
        }
        foreach (var k in order) query[k] = lists[k].ToArray();
    }

    public string Scheme { get { return uri.Scheme; } }
    public string Host { get { return uri.Host; } }
    public int Port { get { return uri.Port; } }
    public string Path { get { return uri.AbsolutePath; } }
    public IReadOnlyDictionary<string, string[]> Query { get { return query; } }
    public string QueryString { get { return uri.Query; } }
    public Uri ToUri() { return uri; }

    public override string ToString()
    {
        var port = uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
        return uri.Scheme + "://" + uri.Host + port + uri.AbsolutePath + uri.Query;
    }
}

sealed class OracleBody : IMessageBody
{
    readonly string text;
    bool consumed;

    public OracleBody(string text) { this.text = text; }

    string Read(bool preserveContent)
    {
        // Without preserveContent the original stream is consumed (expressions.md §4.11).
        if (consumed) throw new InvalidOperationException("The message body has already been read.");
        if (!preserveContent) consumed = true;
        return text;
    }

    public T As<T>(bool preserveContent = false)
    {
        var t = typeof(T);
        var s = Read(preserveContent);
        object r;
        if (t == typeof(string)) r = s;
        else if (t == typeof(byte[])) r = Encoding.UTF8.GetBytes(s);
        else if (t == typeof(JObject)) r = JObject.Parse(s);
        else if (t == typeof(JArray)) r = JArray.Parse(s);
        else if (t == typeof(JToken)) r = JToken.Parse(s);
        else if (t == typeof(XDocument) || t == typeof(XNode)) r = XDocument.Parse(s);
        else if (t == typeof(XElement)) r = XElement.Parse(s);
        else throw new InvalidOperationException("The message body cannot be read as " + t.Name + ".");
        return (T)r;
    }

    public IDictionary<string, IList<string>> AsFormUrlEncodedContent(bool preserveContent = false)
    {
        var s = Read(preserveContent);
        var d = new Dictionary<string, IList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in s.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var k = System.Net.WebUtility.UrlDecode(eq < 0 ? part : part.Substring(0, eq));
            var v = eq < 0 ? "" : System.Net.WebUtility.UrlDecode(part.Substring(eq + 1));
            IList<string> l;
            if (!d.TryGetValue(k, out l)) { l = new List<string>(); d[k] = l; }
            l.Add(v);
        }
        return d;
    }
}

sealed class OracleRequest : IRequest
{
    public IMessageBody Body { get; set; }
    public IReadOnlyDictionary<string, string[]> Headers { get; set; }
    public string IpAddress { get; set; }
    public IReadOnlyDictionary<string, string> MatchedParameters { get; set; }
    public string Method { get; set; }
    public IUrl OriginalUrl { get; set; }
    public IUrl Url { get; set; }
}

sealed class OracleResponse : IResponse
{
    public IMessageBody Body { get; set; }
    public IReadOnlyDictionary<string, string[]> Headers { get; set; }
    public int StatusCode { get; set; }
    public string StatusReason { get; set; }
}

sealed class OracleGroup : IGroup { public string Id { get; set; } public string Name { get; set; } }
sealed class OracleIdentity : IUserIdentity { public string Id { get; set; } public string Provider { get; set; } }

sealed class OracleSubscription : ISubscription
{
    public DateTime CreatedDate { get; set; }
    public DateTime? EndDate { get; set; }
    public string Id { get; set; }
    public string Key { get; set; }
    public string Name { get; set; }
    public string PrimaryKey { get; set; }
    public string SecondaryKey { get; set; }
    public DateTime? StartDate { get; set; }
}

sealed class OracleUser : IUser
{
    public string Email { get; set; }
    public string FirstName { get; set; }
    public IEnumerable<IGroup> Groups { get; set; }
    public string Id { get; set; }
    public IEnumerable<IUserIdentity> Identities { get; set; }
    public string LastName { get; set; }
    public string Note { get; set; }
    public DateTime RegistrationDate { get; set; }
}

sealed class OracleProduct : IProduct
{
    public bool ApprovalRequired { get; set; }
    public IEnumerable<IGroup> Groups { get; set; }
    public string Id { get; set; }
    public string Name { get; set; }
    public ProductState State { get; set; }
    public int? SubscriptionsLimit { get; set; }
    public bool SubscriptionRequired { get; set; }
}

sealed class OracleKeyNames : ISubscriptionKeyParameterNames { public string Header { get; set; } public string Query { get; set; } }

sealed class OracleApi : IApi
{
    public string Id { get; set; }
    public string Name { get; set; }
    public string Path { get; set; }
    public IEnumerable<string> Protocols { get; set; }
    public IUrl ServiceUrl { get; set; }
    public ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get; set; }
    public bool IsCurrentRevision { get; set; }
    public string Revision { get; set; }
    public string Version { get; set; }
}

sealed class OracleOperation : IOperation
{
    public string Id { get; set; }
    public string Method { get; set; }
    public string Name { get; set; }
    public string UrlTemplate { get; set; }
}

sealed class OracleGateway : IGateway { public string Id { get; set; } public string InstanceId { get; set; } public bool IsManaged { get; set; } }

sealed class OracleDeployment : IDeployment
{
    public IGateway Gateway { get; set; }
    public string GatewayId { get; set; }
    public string Region { get; set; }
    public string ServiceId { get; set; }
    public string ServiceName { get; set; }
}

sealed class OracleLastError : ILastError
{
    public string Source { get; set; }
    public string Reason { get; set; }
    public string Message { get; set; }
    public string Scope { get; set; }
    public string Section { get; set; }
    public string Path { get; set; }
    public string PolicyId { get; set; }
}

sealed class OracleBackend : IBackend { public string Id { get; set; } public BackendType Type { get; set; } public string AzureRegion { get; set; } }
sealed class OracleWorkspace : IWorkspace { public string Id { get; set; } public string Name { get; set; } }

sealed class OracleContext : IContext
{
    public IApi Api { get; set; }
    public IBackend Backend { get; set; }
    public IDeployment Deployment { get; set; }
    public TimeSpan Elapsed { get; set; }
    public ILastError LastError { get; set; }
    public IOperation Operation { get; set; }
    public IProduct Product { get; set; }
    public IRequest Request { get; set; }
    public Guid RequestId { get; set; }
    public IResponse Response { get; set; }
    public ISubscription Subscription { get; set; }
    public DateTime Timestamp { get; set; }
    public bool Tracing { get; set; }
    public IUser User { get; set; }
    public IReadOnlyDictionary<string, object> Variables { get; set; }
    public IWorkspace Workspace { get; set; }
    public readonly List<string> TraceMessages = new List<string>();
    public void Trace(string message) { TraceMessages.Add(message); }
}

// ---------------------------------------------------------------------------------------------
// Building a context from the JSON context file (CONTRACTS.md §A).

static class ContextLoader
{
    public const string DefaultRequestId = "5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10";
    public const string DefaultTimestamp = "2024-05-01T12:00:00Z";

    public static JObject ParseJson(string text)
    {
        // Strings stay strings: dates in the context file are parsed explicitly where typed.
        using (var reader = new JsonTextReader(new System.IO.StringReader(text)))
        {
            reader.DateParseHandling = DateParseHandling.None;
            reader.FloatParseHandling = FloatParseHandling.Double;
            return JObject.Load(reader);
        }
    }

    static JObject Obj(JObject o, string key)
    {
        JToken t;
        if (o == null || !o.TryGetValue(key, out t) || t.Type == JTokenType.Null) return null;
        return t as JObject;
    }

    static string Str(JObject o, string key, string dflt)
    {
        JToken t;
        if (o == null || !o.TryGetValue(key, out t) || t.Type == JTokenType.Null) return dflt;
        return t.Type == JTokenType.String ? (string)t : t.ToString(Formatting.None);
    }

    static bool Bool(JObject o, string key, bool dflt)
    {
        JToken t;
        if (o == null || !o.TryGetValue(key, out t) || t.Type == JTokenType.Null) return dflt;
        return (bool)t;
    }

    static DateTime ParseDate(string s)
    {
        return DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
    }

    static DateTime? Date(JObject o, string key)
    {
        var s = Str(o, key, null);
        return s == null ? (DateTime?)null : ParseDate(s);
    }

    public static IReadOnlyDictionary<string, string[]> Headers(JObject o)
    {
        var d = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (o == null) return d;
        foreach (var p in o.Properties())
        {
            if (p.Value.Type == JTokenType.Array) d[p.Name] = p.Value.Select(v => v.Type == JTokenType.String ? (string)v : v.ToString(Formatting.None)).ToArray();
            else d[p.Name] = new[] { p.Value.Type == JTokenType.String ? (string)p.Value : p.Value.ToString(Formatting.None) };
        }
        return d;
    }

    public static IMessageBody Body(JObject o)
    {
        JToken t;
        if (o == null || !o.TryGetValue("body", out t) || t.Type == JTokenType.Null) return null;
        return new OracleBody(t.Type == JTokenType.String ? (string)t : t.ToString(Formatting.None));
    }

    static IEnumerable<IGroup> Groups(JObject o)
    {
        JToken t;
        if (o == null || !o.TryGetValue("groups", out t) || t.Type != JTokenType.Array) return new List<IGroup>();
        return t.Select(g => (IGroup)new OracleGroup { Id = Str((JObject)g, "id", null), Name = Str((JObject)g, "name", null) }).ToList();
    }

    public static OracleResponse Response(JObject r)
    {
        JToken sc;
        return new OracleResponse
        {
            StatusCode = r != null && r.TryGetValue("statusCode", out sc) && sc.Type != JTokenType.Null ? (int)sc : 200,
            StatusReason = Str(r, "statusReason", "OK"),
            Headers = Headers(Obj(r, "headers")),
            Body = Body(r),
        };
    }

    public static IContext Load(JObject c)
    {
        var ctx = new OracleContext();
        var req = Obj(c, "request");
        var url = Str(req, "url", "https://localhost/");
        var mp = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var mpo = Obj(req, "matchedParameters");
        if (mpo != null) foreach (var p in mpo.Properties()) mp[p.Name] = p.Value.Type == JTokenType.String ? (string)p.Value : p.Value.ToString(Formatting.None);
        ctx.Request = new OracleRequest
        {
            Method = Str(req, "method", "GET"),
            Url = new OracleUrl(url),
            OriginalUrl = new OracleUrl(Str(req, "originalUrl", url)),
            Headers = Headers(Obj(req, "headers")),
            Body = Body(req),
            IpAddress = Str(req, "ipAddress", "127.0.0.1"),
            MatchedParameters = mp,
        };
        ctx.Response = Response(Obj(c, "response"));

        var vars = new Dictionary<string, object>(StringComparer.Ordinal);
        var vo = Obj(c, "variables");
        if (vo != null) foreach (var p in vo.Properties()) vars[p.Name] = Variable(p.Value);
        ctx.Variables = vars;

        var s = Obj(c, "subscription");
        if (s != null)
            ctx.Subscription = new OracleSubscription
            {
                Id = Str(s, "id", null), Key = Str(s, "key", null), Name = Str(s, "name", null),
                PrimaryKey = Str(s, "primaryKey", null), SecondaryKey = Str(s, "secondaryKey", null),
                CreatedDate = Date(s, "createdDate") ?? default(DateTime), StartDate = Date(s, "startDate"), EndDate = Date(s, "endDate"),
            };
        var u = Obj(c, "user");
        if (u != null)
        {
            JToken ids;
            var identities = u.TryGetValue("identities", out ids) && ids.Type == JTokenType.Array
                ? ids.Select(i => (IUserIdentity)new OracleIdentity { Id = Str((JObject)i, "id", null), Provider = Str((JObject)i, "provider", null) }).ToList()
                : new List<IUserIdentity>();
            ctx.User = new OracleUser
            {
                Id = Str(u, "id", null), Email = Str(u, "email", null), FirstName = Str(u, "firstName", null),
                LastName = Str(u, "lastName", null), Note = Str(u, "note", null),
                RegistrationDate = Date(u, "registrationDate") ?? default(DateTime), Groups = Groups(u), Identities = identities,
            };
        }
        var pr = Obj(c, "product");
        if (pr != null)
        {
            JToken lim;
            ctx.Product = new OracleProduct
            {
                Id = Str(pr, "id", null), Name = Str(pr, "name", null), ApprovalRequired = Bool(pr, "approvalRequired", false),
                SubscriptionRequired = Bool(pr, "subscriptionRequired", true),
                SubscriptionsLimit = pr.TryGetValue("subscriptionsLimit", out lim) && lim.Type != JTokenType.Null ? (int?)(int)lim : null,
                State = (ProductState)Enum.Parse(typeof(ProductState), Str(pr, "state", "Published")),
                Groups = Groups(pr),
            };
        }
        var a = Obj(c, "api");
        if (a != null)
        {
            JToken protocols;
            var keys = Obj(a, "subscriptionKeyParameterNames");
            var serviceUrl = Str(a, "serviceUrl", null);
            ctx.Api = new OracleApi
            {
                Id = Str(a, "id", null), Name = Str(a, "name", null), Path = Str(a, "path", null),
                Protocols = a.TryGetValue("protocols", out protocols) && protocols.Type == JTokenType.Array ? protocols.Select(x => (string)x).ToList() : new List<string>(),
                ServiceUrl = serviceUrl == null ? null : new OracleUrl(serviceUrl),
                Revision = Str(a, "revision", "1"), Version = Str(a, "version", ""), IsCurrentRevision = Bool(a, "isCurrentRevision", true),
                SubscriptionKeyParameterNames = keys == null ? null : new OracleKeyNames { Header = Str(keys, "header", null), Query = Str(keys, "query", null) },
            };
        }
        var op = Obj(c, "operation");
        if (op != null)
            ctx.Operation = new OracleOperation { Id = Str(op, "id", null), Method = Str(op, "method", null), Name = Str(op, "name", null), UrlTemplate = Str(op, "urlTemplate", null) };
        var d = Obj(c, "deployment");
        if (d != null)
        {
            var gid = Str(d, "gatewayId", "managed");
            ctx.Deployment = new OracleDeployment
            {
                Region = Str(d, "region", null), ServiceName = Str(d, "serviceName", null), ServiceId = Str(d, "serviceId", null), GatewayId = gid,
                Gateway = new OracleGateway { Id = gid, InstanceId = gid, IsManaged = gid == "managed" },
            };
        }
        var b = Obj(c, "backend");
        if (b != null)
            ctx.Backend = new OracleBackend { Id = Str(b, "id", null), AzureRegion = Str(b, "azureRegion", null), Type = (BackendType)Enum.Parse(typeof(BackendType), Str(b, "type", "Single")) };
        var w = Obj(c, "workspace");
        if (w != null) ctx.Workspace = new OracleWorkspace { Id = Str(w, "id", null), Name = Str(w, "name", null) };
        var le = Obj(c, "lastError");
        if (le != null)
            ctx.LastError = new OracleLastError
            {
                Source = Str(le, "source", null), Reason = Str(le, "reason", null), Message = Str(le, "message", null), Scope = Str(le, "scope", null),
                Section = Str(le, "section", null), Path = Str(le, "path", null), PolicyId = Str(le, "policyId", null),
            };
        ctx.RequestId = Guid.Parse(Str(c, "requestId", DefaultRequestId));
        ctx.Timestamp = ParseDate(Str(c, "timestamp", DefaultTimestamp));
        ctx.Elapsed = TimeSpan.Parse(Str(c, "elapsed", "00:00:00"), CultureInfo.InvariantCulture);
        ctx.Tracing = Bool(c, "tracing", false);
        return ctx;
    }

    // A variable's .NET value: JSON scalars map to string/int/long/double/bool, objects and arrays
    // to JObject/JArray, and {"$type": ..., "value": ...} picks the type explicitly.
    public static object Variable(JToken t)
    {
        switch (t.Type)
        {
            case JTokenType.Null: return null;
            case JTokenType.String: return (string)t;
            case JTokenType.Boolean: return (bool)t;
            case JTokenType.Float: return (double)t;
            case JTokenType.Integer:
                {
                    var v = ((JValue)t).Value;
                    if (v is long) { var l = (long)v; if (l >= int.MinValue && l <= int.MaxValue) return (int)l; return l; }
                    if (v is int) return v;
                    return Convert.ToInt64(v, CultureInfo.InvariantCulture);
                }
            // JSON variables are what JToken.Parse makes of their text (Newtonsoft defaults, so
            // ISO date strings become Date tokens), as if read from a message body.
            case JTokenType.Array: return JArray.Parse(t.ToString(Formatting.None));
            case JTokenType.Object:
                {
                    var o = (JObject)t;
                    JToken ty;
                    if (o.TryGetValue("$type", out ty) && ty.Type == JTokenType.String) return Typed((string)ty, o["value"]);
                    return JObject.Parse(o.ToString(Formatting.None));
                }
            default: throw new ArgumentException("unsupported variable JSON: " + t.Type);
        }
    }

    static string Text(JToken v) { return v.Type == JTokenType.String ? (string)v : v.ToString(Formatting.None); }

    static object Typed(string type, JToken v)
    {
        var inv = CultureInfo.InvariantCulture;
        if (type.EndsWith("[]"))
        {
            var elem = type.Substring(0, type.Length - 2);
            var items = ((JArray)v).Select(x => Typed(elem, x)).ToList();
            var et = ElementType(elem);
            var arr = Array.CreateInstance(et, items.Count);
            for (int i = 0; i < items.Count; i++) arr.SetValue(items[i], i);
            return arr;
        }
        if (v == null || v.Type == JTokenType.Null)
        {
            if (type == "string" || type == "jtoken" || type == "jobject" || type == "jarray") return null;
        }
        switch (type)
        {
            case "bool": return (bool)v;
            case "byte": return byte.Parse(Text(v), inv);
            case "sbyte": return sbyte.Parse(Text(v), inv);
            case "short": return short.Parse(Text(v), inv);
            case "ushort": return ushort.Parse(Text(v), inv);
            case "int": return int.Parse(Text(v), inv);
            case "uint": return uint.Parse(Text(v), inv);
            case "long": return long.Parse(Text(v), inv);
            case "ulong": return ulong.Parse(Text(v), inv);
            case "float": return float.Parse(Text(v), NumberStyles.Float, inv);
            case "double": return double.Parse(Text(v), NumberStyles.Float, inv);
            case "decimal": return decimal.Parse(Text(v), NumberStyles.Float, inv);
            case "char": return Text(v)[0];
            case "string": return Text(v);
            case "guid": return Guid.Parse(Text(v));
            case "datetime": return ParseDate(Text(v));
            case "datetimeoffset": return DateTimeOffset.Parse(Text(v), inv, DateTimeStyles.RoundtripKind);
            case "timespan": return TimeSpan.Parse(Text(v), inv);
            case "jobject": return JObject.Parse(v.ToString(Formatting.None));
            case "jarray": return JArray.Parse(v.ToString(Formatting.None));
            case "jtoken": return JToken.Parse(v.ToString(Formatting.None));
            case "response": return Response((JObject)v);
            case "jwt": return Extensions.AsJwt(Text(v));
            case "basic": return Extensions.AsBasic(Text(v));
            case "authorization":
                {
                    var o = (JObject)v;
                    var claims = new Dictionary<string, object>(StringComparer.Ordinal);
                    var co = Obj(o, "claims");
                    if (co != null) foreach (var p in co.Properties()) claims[p.Name] = Variable(p.Value);
                    return new Authorization(Str(o, "accessToken", null), claims);
                }
            default: throw new ArgumentException("unknown variable $type: " + type);
        }
    }

    static Type ElementType(string t)
    {
        switch (t)
        {
            case "bool": return typeof(bool);
            case "byte": return typeof(byte);
            case "sbyte": return typeof(sbyte);
            case "short": return typeof(short);
            case "ushort": return typeof(ushort);
            case "int": return typeof(int);
            case "uint": return typeof(uint);
            case "long": return typeof(long);
            case "ulong": return typeof(ulong);
            case "float": return typeof(float);
            case "double": return typeof(double);
            case "decimal": return typeof(decimal);
            case "char": return typeof(char);
            case "string": return typeof(string);
            case "guid": return typeof(Guid);
            case "datetime": return typeof(DateTime);
            case "timespan": return typeof(TimeSpan);
            case "jobject": return typeof(JObject);
            case "jarray": return typeof(JArray);
            case "jtoken": return typeof(JToken);
            default: return typeof(object);
        }
    }
}
