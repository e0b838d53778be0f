use super::*;

fn obj(pairs: &[(&str, JToken)]) -> JToken {
    let o = JToken::new_object();
    for (k, v) in pairs {
        o.add_property(k, Some(v.clone())).unwrap();
    }
    o
}

#[test]
fn indexer_mutates_in_place_with_reference_semantics() {
    let b0 = obj(&[("isThrottling", JValue::Boolean(true).into())]);
    let backends = JToken::array_from([b0]);
    let first = backends.get_index(0).unwrap();
    first
        .set("isThrottling", Some(JValue::Boolean(false).into()))
        .unwrap();
    assert_eq!(
        backends.to_string_formatting(Formatting::None),
        r#"[{"isThrottling":false}]"#
    );
    assert!(backends.get_index(5).unwrap_err().kind == ExceptionKind::ArgumentOutOfRangeException);
}

#[test]
fn adding_a_parented_token_adds_a_clone() {
    let v: JToken = JValue::Integer(1).into();
    let a = JToken::new_array();
    a.add(v.clone()).unwrap();
    let b = JToken::new_array();
    b.add(v.clone()).unwrap();
    assert!(a.get_index(0).unwrap().same_reference(&v));
    assert!(!b.get_index(0).unwrap().same_reference(&v));
    // Adding an object to itself adds a copy.
    let o = JToken::new_object();
    o.set("self", Some(o.clone())).unwrap();
    assert_eq!(o.to_string_formatting(Formatting::None), r#"{"self":{}}"#);
}

#[test]
fn duplicate_property_is_an_argument_exception() {
    let o = obj(&[("a", JValue::Integer(1).into())]);
    let e = o.add_property("a", None).unwrap_err();
    assert_eq!(e.kind, ExceptionKind::ArgumentException);
    assert_eq!(
        e.message,
        "Can not add property a to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object."
    );
    assert!(o.get("missing").unwrap().is_none());
}

#[test]
fn indented_output_matches_newtonsoft() {
    let o = obj(&[
        ("a", JValue::Integer(1).into()),
        (
            "b",
            JToken::array_from([
                JValue::Float(2.0).into(),
                JValue::String("x\"y".into()).into(),
            ]),
        ),
        ("c", JToken::new_object()),
        ("d", JToken::new_array()),
    ]);
    assert_eq!(
        o.to_string_default(),
        "{\r\n  \"a\": 1,\r\n  \"b\": [\r\n    2.0,\r\n    \"x\\\"y\"\r\n  ],\r\n  \"c\": {},\r\n  \"d\": []\r\n}"
    );
    assert_eq!(
        o.to_string_formatting(Formatting::None),
        r#"{"a":1,"b":[2.0,"x\"y"],"c":{},"d":[]}"#
    );
}

#[test]
fn remove_replace_and_parent_links() {
    let o = obj(&[
        ("a", JValue::Integer(1).into()),
        ("b", JValue::Integer(2).into()),
    ]);
    let a = o.get("a").unwrap().unwrap();
    assert_eq!(a.path(), "a");
    assert!(a.parent().unwrap().is_property());
    a.replace(JValue::String("z".into()).into()).unwrap();
    assert_eq!(
        o.to_string_formatting(Formatting::None),
        r#"{"a":"z","b":2}"#
    );
    o.property("b").unwrap().remove().unwrap();
    assert_eq!(o.to_string_formatting(Formatting::None), r#"{"a":"z"}"#);
    assert!(o.remove_property("a").unwrap());
    assert_eq!(o.count().unwrap(), 0);
    let lone: JToken = JValue::Null.into();
    assert_eq!(
        lone.remove().unwrap_err().kind,
        ExceptionKind::InvalidOperationException
    );
}

#[test]
fn deep_clone_and_equals() {
    let o = obj(&[("a", JToken::array_from([JValue::Integer(1).into()]))]);
    let c = o.deep_clone();
    assert!(c.deep_equals(&o));
    c.get("a")
        .unwrap()
        .unwrap()
        .add(JValue::Integer(2).into())
        .unwrap();
    assert!(!c.deep_equals(&o));
    assert_eq!(o.to_string_formatting(Formatting::None), r#"{"a":[1]}"#);
}

#[test]
fn value_tostring_has_no_quotes() {
    let s: JToken = JValue::String("hi".into()).into();
    assert_eq!(s.to_string_default(), "hi");
    assert_eq!(s.to_string_formatting(Formatting::None), "\"hi\"");
    let b: JToken = JValue::Boolean(true).into();
    assert_eq!(b.to_string_default(), "True");
    assert_eq!(JToken::null().to_string_default(), "");
}

#[test]
fn key_errors() {
    let a = JToken::new_array();
    let e = a.get_key(&JKey::Name("x")).unwrap_err();
    assert_eq!(
        e.message,
        "Accessed JArray values with invalid key value: \"x\". Int32 array index expected."
    );
    let v: JToken = JValue::Integer(1).into();
    let e = v.get_key(&JKey::Name("x")).unwrap_err();
    assert_eq!(e.kind, ExceptionKind::InvalidOperationException);
    assert_eq!(
        e.message,
        "Cannot access child value on Newtonsoft.Json.Linq.JValue."
    );
}

use crate::clr::{ClrType, ClrValue};

fn parse(s: &str) -> JToken {
    JToken::parse(s).unwrap()
}

fn perr(s: &str) -> String {
    let e = JToken::parse(s).unwrap_err();
    assert_eq!(e.kind, ExceptionKind::JsonReaderException, "{s}");
    e.message
}

#[test]
fn parse_round_trips_and_types() {
    let t = parse(r#"{"a":1,"b":1.0,"c":"x","d":true,"e":null,"f":[1,2.5e3],"g":{}}"#);
    assert_eq!(
        t.to_string_formatting(Formatting::None),
        r#"{"a":1,"b":1.0,"c":"x","d":true,"e":null,"f":[1,2500.0],"g":{}}"#
    );
    assert_eq!(
        t.get("a").unwrap().unwrap().token_type(),
        JTokenType::Integer
    );
    assert_eq!(t.get("b").unwrap().unwrap().token_type(), JTokenType::Float);
    assert_eq!(t.get("e").unwrap().unwrap().token_type(), JTokenType::Null);
    let big = parse("123456789012345678901234567890");
    assert_eq!(big.token_type(), JTokenType::Integer);
    assert_eq!(big.to_string_default(), "123456789012345678901234567890");
    assert_eq!(
        parse("0x1F")
            .value()
            .map(|v| v.values_equal(&JValue::Integer(31))),
        Some(true)
    );
    assert_eq!(parse("-0").to_string_formatting(Formatting::None), "0");
}

#[test]
fn parse_is_lenient_like_newtonsoft() {
    let t = parse("{ // comment\n 'a': 'single', b_1: /* c */ 2, }");
    assert_eq!(
        t.to_string_formatting(Formatting::None),
        r#"{"a":"single","b_1":2}"#
    );
    let t = parse("[1,,2]");
    assert_eq!(t.get_index(1).unwrap().token_type(), JTokenType::Undefined);
    let t = parse(r#"{"a":1,"a":2}"#);
    assert_eq!(t.to_string_formatting(Formatting::None), r#"{"a":2}"#);
    let t = parse(r#""\u00e9\n""#);
    assert_eq!(t.to_string_default(), "é\n");
}

#[test]
fn parse_dates_like_newtonsoft() {
    let t = parse(
        r#"{"u":"2024-05-01T12:00:00Z","n":"2024-05-01T12:00:00.1234567","o":"2024-05-01T12:00:00+02:00","d":"2024-05-01"}"#,
    );
    let u = t.get("u").unwrap().unwrap();
    assert_eq!(u.token_type(), JTokenType::Date);
    assert_eq!(
        u.to_string_formatting(Formatting::None),
        r#""2024-05-01T12:00:00Z""#
    );
    let n = t.get("n").unwrap().unwrap();
    assert_eq!(
        n.to_string_formatting(Formatting::None),
        r#""2024-05-01T12:00:00.1234567""#
    );
    let o = t.get("o").unwrap().unwrap();
    assert_eq!(
        o.to_string_formatting(Formatting::None),
        r#""2024-05-01T10:00:00+00:00""#
    );
    assert_eq!(
        t.get("d").unwrap().unwrap().token_type(),
        JTokenType::String
    );
    // JValue.ToString() of a date uses the invariant culture.
    assert_eq!(u.to_string_default(), "05/01/2024 12:00:00");
    assert_eq!(
        u.convert_explicit(ClrType::String, false).unwrap(),
        ClrValue::String("05/01/2024 12:00:00".into())
    );
}

#[test]
fn parse_errors_carry_path_line_and_position() {
    assert_eq!(
        perr(""),
        "Error reading JToken from JsonReader. Path '', line 0, position 0."
    );
    assert_eq!(
        perr(r#"{"a":x}"#),
        "Unexpected character encountered while parsing value: x. Path 'a', line 1, position 5."
    );
    assert_eq!(
        perr(r#"{"a":1"#),
        "Unexpected end of content while loading JObject. Path 'a', line 1, position 6."
    );
    assert_eq!(
        perr(r#"{"a":"abc"#),
        "Unterminated string. Expected delimiter: \". Path 'a', line 1, position 9."
    );
    assert_eq!(
        perr("{} x"),
        "Additional text encountered after finished reading JSON content: x. Path '', line 1, position 3."
    );
    assert_eq!(
        perr("[1,\n2 3]"),
        "After parsing a value an unexpected character was encountered: 3. Path '[1]', line 2, position 3."
    );
    let e = JToken::parse_object("[1]").unwrap_err();
    assert_eq!(
        e.message,
        "Error reading JObject from JsonReader. Current JsonReader item is not an object: StartArray. Path '', line 1, position 1."
    );
    let e = JToken::parse_array("{}").unwrap_err();
    assert_eq!(
        e.message,
        "Error reading JArray from JsonReader. Current JsonReader item is not an array: StartObject. Path '', line 1, position 1."
    );
}

#[test]
fn explicit_conversions_follow_newtonsoft() {
    let t = parse(r#"{"i":5,"f":2.5,"s":"12","b":true,"o":{},"n":null,"big":99999999999}"#);
    let g = |k: &str| t.get(k).unwrap().unwrap();
    assert_eq!(
        g("i").convert_explicit(ClrType::Int32, false).unwrap(),
        ClrValue::Int32(5)
    );
    assert_eq!(
        g("f").convert_explicit(ClrType::Int32, false).unwrap(),
        ClrValue::Int32(2)
    );
    assert_eq!(
        g("s").convert_explicit(ClrType::Int32, false).unwrap(),
        ClrValue::Int32(12)
    );
    assert_eq!(
        g("b").convert_explicit(ClrType::Int32, false).unwrap(),
        ClrValue::Int32(1)
    );
    let e = g("o").convert_explicit(ClrType::Int32, false).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ExceptionKind::ArgumentException,
            "Can not convert Object to Int32."
        )
    );
    let e = g("n").convert_explicit(ClrType::Int32, false).unwrap_err();
    assert_eq!(e.message, "Can not convert Null to Int32.");
    assert_eq!(
        g("n").convert_explicit(ClrType::Int32, true).unwrap(),
        ClrValue::Null
    );
    assert_eq!(
        g("n").convert_explicit(ClrType::String, false).unwrap(),
        ClrValue::Null
    );
    assert_eq!(
        g("b").convert_explicit(ClrType::String, false).unwrap(),
        ClrValue::String("True".into())
    );
    assert_eq!(
        g("f").convert_explicit(ClrType::String, false).unwrap(),
        ClrValue::String("2.5".into())
    );
    assert_eq!(
        g("big")
            .convert_explicit(ClrType::Int32, false)
            .unwrap_err()
            .kind,
        ExceptionKind::OverflowException
    );
    assert_eq!(
        g("s")
            .convert_explicit(ClrType::Boolean, false)
            .unwrap_err()
            .kind,
        ExceptionKind::FormatException
    );
    let e = g("o").convert_explicit(ClrType::String, false).unwrap_err();
    assert_eq!(e.message, "Can not convert Object to String.");
    assert!(matches!(
        g("o").convert_explicit(ClrType::JObject, false).unwrap(),
        ClrValue::Token(_)
    ));
    assert_eq!(
        g("i")
            .convert_explicit(ClrType::JObject, false)
            .unwrap_err()
            .kind,
        ExceptionKind::InvalidCastException
    );
}

#[test]
fn value_of_t_follows_extensions_convert() {
    let t = parse(r#"{"i":5,"s":"7","b":"true","n":null,"o":{"x":1},"d":"2024-05-01T00:00:00Z"}"#);
    let v = |k: &str, ty: ClrType| t.value_of_key(&JKey::Name(k), ty, false);
    assert_eq!(v("i", ClrType::Int32).unwrap(), ClrValue::Int32(5));
    assert_eq!(v("s", ClrType::Int32).unwrap(), ClrValue::Int32(7));
    assert_eq!(
        v("i", ClrType::String).unwrap(),
        ClrValue::String("5".into())
    );
    assert_eq!(v("b", ClrType::Boolean).unwrap(), ClrValue::Boolean(true));
    assert_eq!(v("missing", ClrType::Int32).unwrap(), ClrValue::Int32(0));
    assert_eq!(v("missing", ClrType::String).unwrap(), ClrValue::Null);
    assert_eq!(v("n", ClrType::String).unwrap(), ClrValue::Null);
    let e = v("n", ClrType::Int32).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ExceptionKind::InvalidCastException,
            "Null object cannot be converted to a value type."
        )
    );
    let e = v("o", ClrType::Int32).unwrap_err();
    assert_eq!(
        e.message,
        "Cannot cast Newtonsoft.Json.Linq.JObject to Newtonsoft.Json.Linq.JToken."
    );
    assert!(matches!(
        v("o", ClrType::JObject).unwrap(),
        ClrValue::Token(_)
    ));
    assert!(matches!(
        v("d", ClrType::DateTime).unwrap(),
        ClrValue::DateTime(_)
    ));
    let arr = parse("[1,2,3]");
    let vals = arr.values_as(ClrType::Int32, false).unwrap();
    assert_eq!(
        vals,
        vec![ClrValue::Int32(1), ClrValue::Int32(2), ClrValue::Int32(3)]
    );
    let obj = parse(r#"{"a":"x","b":"y"}"#);
    let vals = obj.values_as(ClrType::String, false).unwrap();
    assert_eq!(
        vals,
        vec![ClrValue::String("x".into()), ClrValue::String("y".into())]
    );
    let nested = parse("[[1,2],[3]]");
    assert_eq!(nested.values_as(ClrType::Int64, false).unwrap().len(), 3);
}

#[test]
fn to_object_and_from_object() {
    let t = parse(r#"{"a":[1]}"#);
    let ClrValue::Token(copy) = t.to_object(ClrType::JObject, false).unwrap() else {
        panic!("token")
    };
    assert!(!copy.same_reference(&t) && copy.deep_equals(&t));
    assert_eq!(
        t.to_object(ClrType::JArray, false).unwrap_err().kind,
        ExceptionKind::JsonReaderException
    );
    assert_eq!(
        parse("\"5\"").to_object(ClrType::Int64, false).unwrap(),
        ClrValue::Int64(5)
    );
    let anon = ClrValue::Anonymous(vec![
        ("name".into(), ClrValue::String("x".into())),
        ("n".into(), ClrValue::Int32(2)),
        ("d".into(), ClrValue::Double(1.0)),
        (
            "list".into(),
            ClrValue::List(vec![ClrValue::Boolean(true), ClrValue::Null]),
        ),
    ]);
    assert_eq!(
        serialize_object(&anon, Formatting::None).unwrap(),
        r#"{"name":"x","n":2,"d":1.0,"list":[true,null]}"#
    );
    assert_eq!(
        serialize_object(&ClrValue::String("a\"b".into()), Formatting::None).unwrap(),
        r#""a\"b""#
    );
    assert_eq!(
        serialize_object(&ClrValue::Null, Formatting::None).unwrap(),
        "null"
    );
    assert_eq!(
        serialize_object(&ClrValue::Double(f64::NAN), Formatting::None).unwrap(),
        r#""NaN""#
    );
    let dict = ClrValue::Dictionary(vec![(ClrValue::String("k".into()), ClrValue::Int64(1))]);
    assert_eq!(
        serialize_object(&dict, Formatting::Indented).unwrap(),
        "{\r\n  \"k\": 1\r\n}"
    );
    assert_eq!(
        JToken::parse("[1]")
            .unwrap()
            .to_string_with_newline(Formatting::Indented, "\n"),
        "[\n  1\n]"
    );
}

#[test]
fn deserialize_object_untyped_and_typed() {
    assert_eq!(deserialize_object("5", None).unwrap(), ClrValue::Int64(5));
    assert_eq!(
        deserialize_object("\"s\"", None).unwrap(),
        ClrValue::String("s".into())
    );
    assert!(matches!(
        deserialize_object("{}", None).unwrap(),
        ClrValue::Token(_)
    ));
    assert_eq!(
        deserialize_object("12", Some(ClrType::Int32)).unwrap(),
        ClrValue::Int32(12)
    );
    assert_eq!(
        deserialize_object("[1]", Some(ClrType::JObject))
            .unwrap_err()
            .kind,
        ExceptionKind::JsonReaderException
    );
}

#[test]
fn select_token_subset() {
    let t = parse(r#"{"a":{"b":[{"c":1},{"c":2,"d":"x"}]},"e":"top"}"#);
    let s = |p: &str| {
        t.select_token(p)
            .unwrap()
            .map(|x| x.to_string_formatting(Formatting::None))
    };
    assert_eq!(s("a.b[1].c").as_deref(), Some("2"));
    assert_eq!(s("$.a.b[0].c").as_deref(), Some("1"));
    assert_eq!(s("['e']").as_deref(), Some("\"top\""));
    assert_eq!(s("a.b[-1].d").as_deref(), Some("\"x\""));
    assert_eq!(s("a.missing"), None);
    assert_eq!(s("a.b[5]"), None);
    assert_eq!(s("a.b[?(@.c == 2)].d").as_deref(), Some("\"x\""));
    assert_eq!(t.select_tokens("..c").unwrap().len(), 2);
    assert_eq!(t.select_tokens("a.b[*].c").unwrap().len(), 2);
    assert_eq!(
        t.select_token("..c").unwrap_err().message,
        "Path returned multiple tokens."
    );
}

#[test]
fn get_value_ignore_case_and_values_equal() {
    let t = parse(r#"{"Name":"x"}"#);
    assert!(t.get_value("name").unwrap().is_none());
    assert!(t.get_value_comparison("name", true).unwrap().is_some());
    assert!(parse("1").deep_equals(&parse("1")));
    assert!(!parse("1").deep_equals(&parse("1.0")));
    assert!(parse(r#"{"a":1,"b":2}"#).deep_equals(&parse(r#"{"b":2,"a":1}"#)));
}

#[test]
fn max_depth_and_hostile_inputs() {
    let deep_ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(JToken::parse(&deep_ok).is_ok());
    let too_deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    let e = JToken::parse(&too_deep).unwrap_err();
    assert!(
        e.message
            .starts_with("The reader's MaxDepth of 64 has been exceeded."),
        "{}",
        e.message
    );
    assert_eq!(
        JToken::parse(r#""/Date(é)/""#).unwrap().token_type(),
        JTokenType::String
    );
    for bad in [
        "{", "[", "{\"a\"", "{\"a\":", "\"\\u12", "tru", "nul", "-", "1e", "{'a' 1}", "/*",
        "[1 2]", "{,}",
    ] {
        assert_eq!(
            JToken::parse(bad).unwrap_err().kind,
            ExceptionKind::JsonReaderException,
            "{bad}"
        );
    }
}

#[test]
fn json_string_literal_escapes_like_newtonsoft() {
    assert_eq!(
        json_string_literal("a\"b\\c\n\u{1}é"),
        "\"a\\\"b\\\\c\\n\\u0001é\""
    );
    assert_eq!(parse("[1]").to_string(), "[\r\n  1\r\n]");
}

#[test]
fn arrays_refuse_properties() {
    let a = JToken::new_array();
    let e = a
        .add(JToken::new_property("x", JToken::null()))
        .unwrap_err();
    assert_eq!(
        e.message,
        "Can not add Newtonsoft.Json.Linq.JProperty to Newtonsoft.Json.Linq.JArray."
    );
    let o = JToken::new_object();
    let e = o.add(JToken::null()).unwrap_err();
    assert_eq!(
        e.message,
        "Can not add Newtonsoft.Json.Linq.JValue to Newtonsoft.Json.Linq.JObject."
    );
}

#[test]
fn paths_like_newtonsoft() {
    let t = parse(r#"{"a":{"b c":[1,{"d":2}]}}"#);
    let d = t.select_token("a['b c'][1].d").unwrap().unwrap();
    assert_eq!(d.path(), "a['b c'][1].d");
    assert_eq!(
        t.get("a").unwrap().unwrap().property("b c").unwrap().path(),
        "a['b c']"
    );
    assert_eq!(t.path(), "");
}

#[test]
fn merge_with_default_settings() {
    let a = parse(r#"{"a":1,"o":{"x":1},"arr":[1],"keep":"k"}"#);
    let b = parse(r#"{"a":2,"o":{"y":2},"arr":[2],"keep":null,"new":true}"#);
    a.merge(&b).unwrap();
    assert_eq!(
        a.to_string_formatting(Formatting::None),
        r#"{"a":2,"o":{"x":1,"y":2},"arr":[1,2],"keep":"k","new":true}"#
    );
}

#[test]
fn large_objects_keep_duplicate_rule() {
    let mut text = String::from("{");
    for i in 0..100 {
        text.push_str(&format!("\"k{i}\":{i},"));
    }
    text.push_str("\"k5\":\"again\"}");
    let t = parse(&text);
    assert_eq!(t.count().unwrap(), 100);
    assert_eq!(t.get("k5").unwrap().unwrap().to_string_default(), "again");
    assert_eq!(t.properties().unwrap()[5].name().unwrap(), "k5");
}

#[test]
fn jvalue_tostring_with_format() {
    assert_eq!(
        parse("1234.5").value_to_string_format("N1").unwrap(),
        "1,234.5"
    );
    assert_eq!(
        parse(r#""2024-05-01T00:00:00Z""#)
            .value_to_string_format("yyyy")
            .unwrap(),
        "2024"
    );
    assert!(parse("{}").value_to_string_format("N").is_err());
}
