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
        "{\n  \"a\": 1,\n  \"b\": [\n    2.0,\n    \"x\\\"y\"\n  ],\n  \"c\": {},\n  \"d\": []\n}"
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
