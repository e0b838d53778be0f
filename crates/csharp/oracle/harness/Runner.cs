// Runs the generated cases and prints one JSON line per case (CONTRACTS.md §B rendering).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

public sealed class OracleCase
{
    public readonly string Id;
    public readonly int Context;
    public readonly Func<IContext, object> Run;
    public OracleCase(string id, int context, Func<IContext, object> run) { Id = id; Context = context; Run = run; }
}

public static class Render
{
    static readonly Dictionary<Type, string> Aliases = new Dictionary<Type, string>
    {
        { typeof(bool), "bool" }, { typeof(byte), "byte" }, { typeof(sbyte), "sbyte" }, { typeof(char), "char" },
        { typeof(short), "short" }, { typeof(ushort), "ushort" }, { typeof(int), "int" }, { typeof(uint), "uint" },
        { typeof(long), "long" }, { typeof(ulong), "ulong" }, { typeof(float), "float" }, { typeof(double), "double" },
        { typeof(decimal), "decimal" }, { typeof(string), "string" }, { typeof(object), "object" },
    };

    static bool IsAnonymous(Type t)
    {
        return t.Name.Contains("AnonType") || t.Name.Contains("AnonymousType");
    }

    // Runtime type in C# spelling. Non-public enumerables (LINQ iterators, compiler-generated
    // iterators) differ between runtimes, so they are named by their IEnumerable<T> interface.
    public static string TypeName(Type t)
    {
        string alias;
        if (Aliases.TryGetValue(t, out alias)) return alias;
        if (t.IsArray) return TypeName(t.GetElementType()) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (IsAnonymous(t)) return "<anonymous>";
        if (!t.IsPublic && !t.IsNestedPublic)
        {
            var e = t.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
            if (e != null) return TypeName(e);
        }
        var name = t.Name;
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name.Substring(0, tick);
        var args = t.IsGenericType ? t.GetGenericArguments() : new Type[0];
        var prefix = "";
        if (t.IsNested && t.DeclaringType != null)
        {
            var outer = t.DeclaringType;
            var outerArity = outer.IsGenericTypeDefinition ? outer.GetGenericArguments().Length : 0;
            var outerType = outerArity > 0 ? outer.MakeGenericType(args.Take(outerArity).ToArray()) : outer;
            prefix = TypeName(outerType) + ".";
            args = args.Skip(outerArity).ToArray();
        }
        if (t.IsGenericType && Nullable.GetUnderlyingType(t) != null) return TypeName(Nullable.GetUnderlyingType(t)) + "?";
        if (args.Length > 0) name += "<" + string.Join(", ", args.Select(TypeName)) + ">";
        return prefix + name;
    }

    // .NET Core 3.0+'s "R": the shortest digits that parse back to the same value, in fixed
    // notation unless the decimal exponent is >= 15 (7 for float) or <= -5. Mono's "R" (like
    // .NET Framework's) may print 17 digits where fewer round-trip.
    static string Shortest(double d)
    {
        var inv = CultureInfo.InvariantCulture;
        if (double.IsNaN(d) || double.IsInfinity(d)) return d.ToString(inv);
        if (d == 0) return 1 / d < 0 ? "-0" : "0";
        for (int p = 1; p <= 17; p++)
        {
            var e = d.ToString("E" + (p - 1), inv);
            double back;
            if (double.TryParse(e, NumberStyles.Float, inv, out back) && back.Equals(d)) return Layout(e, 15);
        }
        return d.ToString("R", inv);
    }

    static string Shortest(float f)
    {
        var inv = CultureInfo.InvariantCulture;
        if (float.IsNaN(f) || float.IsInfinity(f)) return f.ToString(inv);
        if (f == 0) return 1 / f < 0 ? "-0" : "0";
        for (int p = 1; p <= 9; p++)
        {
            var e = f.ToString("E" + (p - 1), inv);
            float back;
            if (float.TryParse(e, NumberStyles.Float, inv, out back) && back.Equals(f)) return Layout(e, 7);
        }
        return f.ToString("R", inv);
    }

    // Lays out "-d.dddE+xxx" as .NET Core's shortest form.
    static string Layout(string e, int sciFrom)
    {
        var neg = e.StartsWith("-");
        if (neg) e = e.Substring(1);
        var ix = e.IndexOf('E');
        var digits = e.Substring(0, ix).Replace(".", "").TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var exp = int.Parse(e.Substring(ix + 1), CultureInfo.InvariantCulture);
        string body;
        if (exp >= sciFrom || exp < -4)
        {
            var mant = digits.Length > 1 ? digits.Substring(0, 1) + "." + digits.Substring(1) : digits;
            body = mant + "E" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (exp < 0)
        {
            body = "0." + new string('0', -exp - 1) + digits;
        }
        else if (digits.Length <= exp + 1)
        {
            body = digits + new string('0', exp + 1 - digits.Length);
        }
        else
        {
            body = digits.Substring(0, exp + 1) + "." + digits.Substring(exp + 1);
        }
        return neg ? "-" + body : body;
    }

    public static string Value(object v)
    {
        var inv = CultureInfo.InvariantCulture;
        if (v == null) return "null";
        var s = v as string;
        if (s != null) return JsonConvert.ToString(s);
        if (v is bool) return (bool)v ? "true" : "false";
        if (v is char) return "'" + (char)v + "'";
        if (v is byte || v is sbyte || v is short || v is ushort || v is int || v is uint || v is long || v is ulong || v is decimal)
            return ((IFormattable)v).ToString(null, inv);
        if (v is float) return Shortest((float)v);
        if (v is double) return Shortest((double)v);
        if (v is DateTime) return ((DateTime)v).ToString("o", inv);
        if (v is DateTimeOffset) return ((DateTimeOffset)v).ToString("o", inv);
        if (v is TimeSpan) return ((TimeSpan)v).ToString("c", inv);
        if (v is Guid) return ((Guid)v).ToString("D");
        var tok = v as JToken;
        if (tok != null) return tok.ToString(Formatting.None);
        var bytes = v as byte[];
        if (bytes != null) return "bytes:" + Convert.ToBase64String(bytes);
        var dict = v as IDictionary;
        if (dict != null)
        {
            var parts = new List<string>();
            foreach (DictionaryEntry e in dict) parts.Add(Value(e.Key) + ":" + Value(e.Value));
            return "{" + string.Join(",", parts) + "}";
        }
        var seq = v as IEnumerable;
        if (seq != null)
        {
            var parts = new List<string>();
            foreach (var x in seq) parts.Add(Value(x));
            return "[" + string.Join(",", parts) + "]";
        }
        return v.ToString();
    }
}

public static class OracleMain
{
    sealed class Outcome { public string Line; }

    static string Run(OracleCase c, IContext ctx)
    {
        try
        {
            OracleHost.Current = ctx;
            var v = c.Run(ctx);
            // Render inside the try: lazy sequences run (and may throw) here.
            var type = v == null ? "null" : Render.TypeName(v.GetType());
            var rendered = Render.Value(v);
            return "{\"id\":" + JsonConvert.ToString(c.Id) + ",\"kind\":\"value\",\"type\":" + JsonConvert.ToString(type)
                + ",\"rendered\":" + JsonConvert.ToString(rendered) + "}";
        }
        catch (Exception e)
        {
            return "{\"id\":" + JsonConvert.ToString(c.Id) + ",\"kind\":\"exception\",\"type\":" + JsonConvert.ToString(e.GetType().Name)
                + ",\"message\":" + JsonConvert.ToString(e.Message) + "}";
        }
    }

    public static int Main(string[] args)
    {
        var contexts = JArray.Parse(System.IO.File.ReadAllText(args[0]));
        var timeout = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10000;
        var stdout = Console.Out;
        foreach (var c in OracleCases.All)
        {
            string line;
            try
            {
                // A fresh context per case: bodies are consumed and JObjects mutated in place.
                var ctx = ContextLoader.Load(ContextLoader.ParseJson(contexts[c.Context].ToString(Formatting.None)));
                var outcome = new Outcome();
                var t = new Thread(() => { outcome.Line = Run(c, ctx); }, 16 * 1024 * 1024);
                t.IsBackground = true;
                t.Start();
                if (!t.Join(timeout))
                    line = "{\"id\":" + JsonConvert.ToString(c.Id) + ",\"kind\":\"timeout\"}";
                else
                    line = outcome.Line;
            }
            catch (Exception e)
            {
                line = "{\"id\":" + JsonConvert.ToString(c.Id) + ",\"kind\":\"harness_error\",\"message\":" + JsonConvert.ToString(e.GetType().Name + ": " + e.Message) + "}";
            }
            stdout.WriteLine(line);
            stdout.Flush();
        }
        return 0;
    }
}
