//! .NET semantics of the evaluator: value and type, exception, or diagnostic.
use apim_csharp::{EvalOutcome, evaluate_with_json_context};
use serde_json::json;

fn ctx() -> serde_json::Value {
    json!({
        "request": {"method": "POST", "url": "https://contoso.azure-api.net/api/items?a=1&b=x&b=y",
                    "headers": {"Content-Type": "application/json", "X-Multi": ["a", "b"]},
                    "body": {"model": "gpt", "n": 2, "stream": true},
                    "matchedParameters": {"id": "42"}},
        "variables": {"n": 3, "s": "text", "d": 2.5, "b": true, "o": {"a": 1, "arr": [1, 2]}, "arr": [3, 1, 2],
                      "l": {"$type": "long", "value": 5}, "big": 5000000000i64,
                      "backends": [{"id": "b1", "weight": 2}, {"id": "b2", "weight": 1}]},
        "user": {"id": "u1", "groups": [{"id": "g1", "name": "G1"}]}
    })
}

fn run(src: &str) -> EvalOutcome {
    evaluate_with_json_context(src, &ctx())
}

#[track_caller]
fn value(src: &str, ty: &str, rendered: &str) {
    match run(src) {
        EvalOutcome::Value {
            type_name,
            rendered: r,
        } => {
            assert_eq!((type_name.as_str(), r.as_str()), (ty, rendered), "{src}");
        }
        other => panic!("{src}: expected a value, got {other:?}"),
    }
}

#[track_caller]
fn throws(src: &str, exc: &str) {
    match run(src) {
        EvalOutcome::Exception { type_name, .. } => assert_eq!(type_name, exc, "{src}"),
        other => panic!("{src}: expected {exc}, got {other:?}"),
    }
}

#[track_caller]
fn rejected(src: &str, code: &str) {
    match run(src) {
        EvalOutcome::Rejected { diagnostics } => {
            assert!(
                diagnostics.iter().any(|d| d.starts_with(code)),
                "{src}: expected {code}, got {diagnostics:?}"
            )
        }
        other => panic!("{src}: expected diagnostic {code}, got {other:?}"),
    }
}

#[test]
fn arithmetic_and_promotion() {
    value("@(7 / 2)", "int", "3");
    value("@(7 / 2.0)", "double", "3.5");
    value("@(-7 % 3)", "int", "-1");
    value("@(1 + 2L)", "long", "3");
    value("@(0.1 + 0.2)", "double", "0.30000000000000004");
    value("@(1.5m * 2)", "decimal", "3.0");
    value("@((byte)200 + (byte)100)", "int", "300");
    value(
        "@(int.MaxValue + context.Variables.GetValueOrDefault<int>(\"n\"))",
        "int",
        "-2147483646",
    );
    throws(
        "@(checked(int.MaxValue + context.Variables.GetValueOrDefault<int>(\"n\")))",
        "OverflowException",
    );
    throws(
        "@(1 / (context.Variables.GetValueOrDefault<int>(\"n\") - 3))",
        "DivideByZeroException",
    );
    value("@(1.0 / 0)", "double", "Infinity");
    value("@((int)3.99)", "int", "3");
    value("@((int)-3.99)", "int", "-3");
    value("@(5 >> 1 | 8)", "int", "10");
    value("@('a' + 1)", "int", "98");
    value("@((char)('a' + 1))", "char", "'b'");
    value("@(10 - 2 - 3)", "int", "5");
    value("@(2 + 3 * 4)", "int", "14");
    rejected("@(int.MaxValue + 1)", "CS0220");
    rejected("@(1 / 0)", "CS0020");
}

#[test]
fn strings() {
    value("@(\"a\" + 1 + 2)", "string", "\"a12\"");
    value("@(1 + 2 + \"a\")", "string", "\"3a\"");
    value("@(\"x\" + null + true)", "string", "\"xTrue\"");
    value(
        "@(\"Hello\".Substring(1, 3).ToUpper())",
        "string",
        "\"ELL\"",
    );
    value("@(\"a,b,,c\".Split(',').Length)", "int", "4");
    value(
        "@(\"a,b,,c\".Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Length)",
        "int",
        "3",
    );
    value(
        "@(string.Join(\"|\", new[] { \"a\", \"b\" }))",
        "string",
        "\"a|b\"",
    );
    value(
        "@(string.Format(\"{0}-{1,3}-{2:D4}\", \"a\", 7, 42))",
        "string",
        "\"a-  7-0042\"",
    );
    value(
        "@($\"{1 + 1} {(true ? \"y\" : \"n\")} {{x}}\")",
        "string",
        "\"2 y {x}\"",
    );
    value("@($\"{3.14159:F2}|{5,-3}|\")", "string", "\"3.14|5  |\"");
    value("@(@\"c:\\temp\"\"x\")", "string", "\"c:\\\\temp\\\"x\"");
    value("@(\"abc\".IndexOf('c'))", "int", "2");
    value("@(\"  x \".Trim())", "string", "\"x\"");
    value("@(\"/a/\".Trim('/'))", "string", "\"a\"");
    value(
        "@(\"abc\".Contains(\"b\") && \"abc\".StartsWith(\"a\"))",
        "bool",
        "true",
    );
    value(
        "@(\"ABC\".Equals(\"abc\", StringComparison.OrdinalIgnoreCase))",
        "bool",
        "true",
    );
    value("@(\"a\" == \"a\")", "bool", "true");
    value("@(\"😀\".Length)", "int", "2");
    value("@(string.IsNullOrEmpty(null))", "bool", "true");
    throws("@(\"abc\".Substring(5))", "ArgumentOutOfRangeException");
    value("@(\"abc\"[1])", "char", "'b'");
}

#[test]
fn casts_and_boxing() {
    value("@((int)context.Variables[\"n\"])", "int", "3");
    throws("@((long)context.Variables[\"n\"])", "InvalidCastException");
    throws(
        "@((string)context.Variables[\"n\"])",
        "InvalidCastException",
    );
    value("@((long)context.Variables[\"l\"])", "long", "5");
    value("@(context.Variables[\"big\"])", "long", "5000000000");
    value("@(context.Variables[\"d\"])", "double", "2.5");
    value(
        "@(context.Variables[\"s\"] as string)",
        "string",
        "\"text\"",
    );
    value("@(context.Variables[\"n\"] as string)", "null", "null");
    value("@(context.Variables[\"n\"] is int)", "bool", "true");
    value(
        "@(context.Variables[\"o\"] is JObject o ? o[\"a\"].ToString() : \"no\")",
        "string",
        "\"1\"",
    );
    throws(
        "@(context.Variables.GetValueOrDefault<string>(\"n\"))",
        "InvalidCastException",
    );
    value(
        "@(context.Variables.GetValueOrDefault<string>(\"missing\", \"dflt\"))",
        "string",
        "\"dflt\"",
    );
    value(
        "@(context.Variables.GetValueOrDefault<int>(\"missing\"))",
        "int",
        "0",
    );
    value(
        "@(context.Variables.GetValueOrDefault(\"s\"))",
        "string",
        "\"text\"",
    );
    throws("@(context.Variables[\"missing\"])", "KeyNotFoundException");
    value(
        "@((double)(int)context.Variables[\"n\"] / 2)",
        "double",
        "1.5",
    );
    rejected("@((int)\"5\")", "CS0030");
}

#[test]
fn null_handling() {
    throws("@(((string)null).Length)", "NullReferenceException");
    value("@(((string)null)?.Length)", "null", "null");
    value("@(((string)null)?.Length ?? -1)", "int", "-1");
    value("@(context.Product == null)", "bool", "true");
    value("@(context.Product?.Name ?? \"none\")", "string", "\"none\"");
    throws("@(context.Product.Name)", "NullReferenceException");
    value("@(context.Request.Body != null)", "bool", "true");
}

#[test]
fn context_members() {
    value("@(context.Request.Method)", "string", "\"POST\"");
    value("@(context.Request.Url.Path)", "string", "\"/api/items\"");
    value(
        "@(context.Request.Url.Query.GetValueOrDefault(\"b\", \"\"))",
        "string",
        "\"x,y\"",
    );
    value(
        "@(context.Request.Url.QueryString)",
        "string",
        "\"?a=1&b=x&b=y\"",
    );
    value(
        "@(context.Request.Headers.GetValueOrDefault(\"content-type\", \"\"))",
        "string",
        "\"application/json\"",
    );
    value(
        "@(context.Request.Headers.GetValueOrDefault(\"X-Multi\"))",
        "string",
        "\"a,b\"",
    );
    value("@(context.Request.Headers[\"X-Multi\"].Length)", "int", "2");
    value(
        "@(context.Request.MatchedParameters[\"id\"])",
        "string",
        "\"42\"",
    );
    value(
        "@(context.Request.Body.As<JObject>(preserveContent: true)[\"model\"].ToString())",
        "string",
        "\"gpt\"",
    );
    value(
        "@(context.Request.Body.As<JObject>()[\"n\"].Value<int>() * 2)",
        "int",
        "4",
    );
    value(
        "@{ var a = context.Request.Body.As<string>(); var b = context.Request.Body.As<string>(); return b.Length; }",
        "int",
        "0",
    );
    value(
        "@{ var a = context.Request.Body.As<string>(preserveContent: true); return context.Request.Body.As<string>().Length > 0; }",
        "bool",
        "true",
    );
    value(
        "@(context.RequestId.ToString())",
        "string",
        "\"5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10\"",
    );
    value(
        "@(context.User.Groups.Select(g => g.Name).First())",
        "string",
        "\"G1\"",
    );
    value("@(context.Deployment.Region)", "string", "\"West Europe\"");
    value("@(context.Response.StatusCode)", "int", "200");
    value(
        "@(\"u=\" + context.Request.Url)",
        "string",
        "\"u=https://contoso.azure-api.net/api/items?a=1&b=x&b=y\"",
    );
    value("@(context.Variables[\"n\"] + \"x\")", "string", "\"3x\"");
    rejected("@(context.Request.MatchedParameters(\"x\"))", "CS1955");
    rejected("@(context.Request.Nope)", "CS1061");
    rejected(
        "@(context.Variables.GetValueOrDefault<int>(\"urlId\") + \"x\".Foo())",
        "CS1061",
    );
}

#[test]
fn json() {
    value(
        "@(new JObject() { { \"a\", 1 }, { \"b\", \"x\" } })",
        "JObject",
        "{\"a\":1,\"b\":\"x\"}",
    );
    value(
        "@(new JObject(new JProperty(\"a\", 1), new JProperty(\"b\", new JArray(1, 2))))",
        "JObject",
        "{\"a\":1,\"b\":[1,2]}",
    );
    value(
        "@{ var o = (JObject)context.Variables[\"o\"]; o[\"c\"] = true; return context.Variables[\"o\"]; }",
        "JObject",
        "{\"a\":1,\"arr\":[1,2],\"c\":true}",
    );
    value(
        "@((int)((JArray)context.Variables[\"arr\"])[0])",
        "int",
        "3",
    );
    value(
        "@(((JArray)context.Variables[\"backends\"]).Sum(b => (int)b[\"weight\"]))",
        "int",
        "3",
    );
    value(
        "@(((JArray)context.Variables[\"arr\"]).Select(x => (int)x).OrderBy(x => x).ToArray())",
        "int[]",
        "[1,2,3]",
    );
    value(
        "@(JObject.Parse(\"{\\\"x\\\": [1,2]}\")[\"x\"].Type)",
        "JTokenType",
        "Array",
    );
    value(
        "@(JObject.Parse(\"{\\\"x\\\": 1}\")[\"y\"] == null)",
        "bool",
        "true",
    );
    throws("@(JObject.Parse(\"{bad\"))", "JsonReaderException");
    value(
        "@(JsonConvert.SerializeObject(new { a = 1, b = \"x\" }))",
        "string",
        "\"{\\\"a\\\":1,\\\"b\\\":\\\"x\\\"}\"",
    );
    value(
        "@{ var r = (JObject)context.Variables[\"o\"]; r.Property(\"a\")?.Remove(); return r.ToString(Newtonsoft.Json.Formatting.None); }",
        "string",
        "\"{\\\"arr\\\":[1,2]}\"",
    );
    throws(
        "@((int)JObject.Parse(\"{\\\"a\\\":\\\"x\\\"}\")[\"a\"])",
        "FormatException",
    );
}

#[test]
fn statements() {
    value(
        "@{ int s = 0; for (int i = 0; i < 5; i++) { s += i; } return s; }",
        "int",
        "10",
    );
    value(
        "@{ var s = 0; foreach (var x in new[] { 1, 2, 3 }) { if (x == 2) continue; s += x; } return s; }",
        "int",
        "4",
    );
    value(
        "@{ int i = 0; while (true) { if (++i > 3) break; } return i; }",
        "int",
        "4",
    );
    value(
        "@{ int i = 0; do { i += 2; } while (i < 5); return i; }",
        "int",
        "6",
    );
    value(
        "@{ switch (\"b\") { case \"a\": return 1; case \"b\": case \"c\": return 2; default: return 3; } }",
        "int",
        "2",
    );
    value(
        "@{ try { throw new ArgumentException(\"x\"); } catch (InvalidCastException) { return 1; } catch (ArgumentException e) { return e.Message; } }",
        "string",
        "\"x\"",
    );
    value(
        "@{ try { var x = int.Parse(\"z\"); return x; } catch (Exception e) when (e is FormatException) { return -1; } }",
        "int",
        "-1",
    );
    value(
        "@{ var n = 0; try { n = 1; } finally { n = 2; } return n; }",
        "int",
        "2",
    );
    value(
        "@{ long parsed; return long.TryParse(\"12\", out parsed) ? parsed : -1; }",
        "long",
        "12",
    );
    value(
        "@{ if (!context.Variables.TryGetValue(\"KnownGUID\", out var guid)) { guid = Guid.NewGuid(); } return guid.ToString(); }",
        "string",
        "\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\"",
    );
    value(
        "@{ var l = new List<int> { 1, 2 }; l.Add(3); return l.Count; }",
        "int",
        "3",
    );
    value(
        "@{ var d = new Dictionary<string, int> { [\"a\"] = 1, { \"b\", 2 } }; return d[\"b\"] + d.Count; }",
        "int",
        "4",
    );
    value("@{ double d = 1; return d / 2; }", "double", "0.5");
    value(
        "@{ var b = new byte[2]; b[1] = (byte)(300); return b; }",
        "byte[]",
        "bytes:ACw=",
    );
    rejected("@{ int x; return x; }", "CS0165");
    rejected("@{ if (context.Tracing) { return 1; } }", "CS0161");
    value("@{ if (true) { return 1; } }", "int", "1");
    rejected("@{ var x = 1; }", "CS0161");
    rejected(
        "@{ switch (1) { case 1: var y = 2; default: return 1; } }",
        "CS0163",
    );
    rejected("@{ break; }", "CS0139");
    rejected("@{ 1 + 1; return 1; }", "CS0201");
    rejected("@{ var x = 1; var x = 2; return x; }", "CS0128");
}

#[test]
fn budget_stops_runaway_loops() {
    throws("@{ while (true) { } }", "StepBudgetExceeded");
}

#[test]
fn linq() {
    value(
        "@(new[] { 3, 1, 2 }.Where(x => x > 1).Select(x => x * 10).ToList())",
        "List<int>",
        "[30,20]",
    );
    value("@(new[] { 3, 1, 2 }.Max())", "int", "3");
    value(
        "@(new[] { 1, 2 }.Any(x => x > 1) && new[] { 1, 2 }.All(x => x > 0))",
        "bool",
        "true",
    );
    value(
        "@(new[] { \"b\", \"a\" }.OrderBy(x => x).First())",
        "string",
        "\"a\"",
    );
    value(
        "@(new[] { 1, 2, 3 }.Aggregate(0, (acc, x) => acc + x))",
        "int",
        "6",
    );
    value("@(new[] { 1, 1, 2 }.Distinct().Count())", "int", "2");
    value("@(new[] { 1, 2, 3 }.Skip(1).Take(1).Single())", "int", "2");
    value("@(new int[0].FirstOrDefault())", "int", "0");
    throws("@(new int[0].First())", "InvalidOperationException");
    value("@(new[] { 1, 2 }.Concat(new[] { 3 }).Sum())", "int", "6");
    value(
        "@(new[] { \"a\", \"bb\" }.ToDictionary(x => x, x => x.Length)[\"bb\"])",
        "int",
        "2",
    );
}

#[test]
fn library() {
    value("@(Math.Max(0, 5L))", "long", "5");
    value("@(Math.Round(2.5))", "double", "2");
    value(
        "@(Math.Round(2.5, MidpointRounding.AwayFromZero))",
        "double",
        "3",
    );
    value("@(Math.Abs(-3))", "int", "3");
    value("@(int.Parse(\"42\") + 1)", "int", "43");
    throws("@(int.Parse(\"x\"))", "FormatException");
    throws("@(int.Parse(\"99999999999\"))", "OverflowException");
    value("@(Convert.ToInt32(\"12\"))", "int", "12");
    value(
        "@(Convert.ToBase64String(Encoding.UTF8.GetBytes(\"hi\")))",
        "string",
        "\"aGk=\"",
    );
    value(
        "@(Encoding.UTF8.GetString(Convert.FromBase64String(\"aGk=\")))",
        "string",
        "\"hi\"",
    );
    value(
        "@(new DateTime(2024, 1, 31).AddMonths(1).ToString(\"yyyy-MM-dd\"))",
        "string",
        "\"2024-02-29\"",
    );
    value(
        "@(DateTime.UtcNow.ToString(\"yyyy-MM-ddTHH:mm:ssZ\"))",
        "string",
        "\"2024-05-01T12:00:00Z\"",
    );
    value(
        "@(DateTimeOffset.UtcNow.ToUnixTimeSeconds())",
        "long",
        "1714564800",
    );
    value(
        "@((new DateTime(2024, 1, 2) - new DateTime(2024, 1, 1)).TotalHours)",
        "double",
        "24",
    );
    value("@(TimeSpan.FromMinutes(90))", "TimeSpan", "01:30:00");
    value("@(new Random(42).Next(1, 100))", "int", "67");
    value(
        "@(Guid.Parse(\"5c7f8f8e-2f4c-4c39-9d55-0d6cde3e9a10\").ToString(\"N\"))",
        "string",
        "\"5c7f8f8e2f4c4c399d550d6cde3e9a10\"",
    );
    value(
        "@(Regex.IsMatch(\"abc123\", @\"^[a-z]+\\d+$\"))",
        "bool",
        "true",
    );
    value(
        "@(Regex.Match(\"key=val\", @\"(?<k>\\w+)=(?<v>\\w+)\").Groups[\"v\"].Value)",
        "string",
        "\"val\"",
    );
    value(
        "@(Regex.Replace(\"a-b-c\", \"-\", \"+\"))",
        "string",
        "\"a+b+c\"",
    );
    value(
        "@(System.Net.WebUtility.UrlEncode(\"a b&c\"))",
        "string",
        "\"a+b%26c\"",
    );
    value(
        "@(Convert.ToBase64String(new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes(\"k\")).ComputeHash(Encoding.UTF8.GetBytes(\"m\"))))",
        "string",
        "\"tgCQ4wUil661oICInOL8S8qVfnVvrrTffTGADKHncew=\"",
    );
    value(
        "@(\"Basic dXNlcjpwYXNz\".AsBasic().Password)",
        "string",
        "\"pass\"",
    );
    value(
        "@(\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\".AsJwt().Subject)",
        "string",
        "\"x\"",
    );
    value("@(\"nope\".AsJwt() == null)", "bool", "true");
    value(
        "@(System.Xml.Linq.XDocument.Parse(\"<a><b>t</b></a>\").Root.Element(\"b\").Value)",
        "string",
        "\"t\"",
    );
    value(
        "@(new StringBuilder().Append(\"a\").Append(1).ToString())",
        "string",
        "\"a1\"",
    );
}

#[test]
fn disallowed_types_and_members() {
    rejected("@(System.IO.File.ReadAllText(\"x\"))", "APIM0002");
    rejected("@(new HttpClient())", "APIM0002");
    rejected("@(DateTime.ParseExact(\"x\", \"y\", null))", "APIM0003");
    rejected("@(Regex.Escape(\"x\"))", "APIM0003");
    rejected("@(Foo.Bar)", "CS0103");
    rejected("@(\"x\".Substring(\"a\"))", "CS1503");
    rejected("@(\"x\".Substring(1, 2, 3))", "CS1501");
}

#[test]
fn deep_but_allowed_expressions_compile_and_run() {
    let src = format!("@({}0)", "context.Response.StatusCode + ".repeat(90));
    value(&src, "int", &(200 * 90).to_string());
    let src = format!("@({}1{})", "(".repeat(60), ")".repeat(60));
    value(&src, "int", "1");
}
