//! Regex behaviour against results printed by the Mono runtime for the same calls.

use apim_dotnet::regex::{Regex, escape, options};

fn re(p: &str) -> Regex {
    Regex::new(p, 0).unwrap()
}

#[test]
fn regex_matches_the_reference_results() {
    assert_eq!(
        re(r"(?<first>\w+)\s(?<last>\w+)")
            .replace("John Smith", "${last}, ${first}", -1, 0)
            .unwrap(),
        "Smith, John"
    );
    assert_eq!(
        re(r"api-version=(\d{4})-(\d{2})")
            .match_first("api-version=2024-02-01")
            .unwrap()
            .group_by_number(2)
            .value,
        "02"
    );
    assert_eq!(
        re(r"\d+").split("a1b22c333", 0, 0).unwrap().join("|"),
        "a|b|c|"
    );
    assert_eq!(
        re(r"(\d)+").split("a1b22c", 0, 0).unwrap().join("|"),
        "a|1|b|2|c"
    );
    assert!(
        Regex::new(r"^Bearer\s+[\w-]+\.[\w-]+$", options::IGNORE_CASE)
            .unwrap()
            .is_match("Bearer eyJ.abc")
            .unwrap()
    );
    assert_eq!(re(r"\.").matches("a.b.c", 0).unwrap().len(), 2);
    assert_eq!(re("a*").replace("aaa", "X", -1, 0).unwrap(), "XX");
    assert_eq!(re("").replace("abc", "-", -1, 0).unwrap(), "-a-b-c-");
    let all = re(r"(?<k>\w)=(?<v>\d)").matches("x=1;y=2", 0).unwrap();
    assert_eq!(all[1].group_by_name("v").value, "2");
    assert_eq!(
        re(r"\b(\w)")
            .replace_with("hello world", -1, 0, |m| Ok(m.value().to_uppercase()))
            .unwrap(),
        "Hello World"
    );
    assert_eq!(re(r"(?<=a)b").match_first("abc").unwrap().index(), 1);
    assert_eq!(
        re(r"(\d+)-(\d+)-(\d+)")
            .replace("2024-05-01", "$3/$2/$1", -1, 0)
            .unwrap(),
        "01/05/2024"
    );
    assert_eq!(re(r"\s").replace("a b", "$0$0", -1, 0).unwrap(), "a  b");
    assert!(!re("abc").is_match("ABC").unwrap());
    assert_eq!(re(r"\d+$").match_first("foo123").unwrap().value(), "123");
    assert!(
        Regex::new("^line2$", options::MULTILINE)
            .unwrap()
            .match_first("line1\nline2")
            .unwrap()
            .success()
    );
    assert_eq!(re(".").replace("a.b", "x", -1, 0).unwrap(), "xxx");
    assert_eq!(re("a{2,}?").match_first("aaa").unwrap().value(), "aa");
    assert_eq!(
        re(r"[^\d]").replace("tel: 555-1234", "", -1, 0).unwrap(),
        "5551234"
    );
    assert_eq!(
        re(r"k2=([^&]*)")
            .match_first("k1=v1&k2=v2")
            .unwrap()
            .group_by_number(1)
            .value,
        "v2"
    );
    assert!(Regex::new("(", 0).is_err());
    assert_eq!(re("x").replace("x", "$", -1, 0).unwrap(), "$");
    assert_eq!(
        re("(b)").replace("abc", "[$1$2]", -1, 0).unwrap(),
        "a[b$2]c"
    );
    assert!(
        !re("(a)|(b)")
            .match_first("ab")
            .unwrap()
            .group_by_number(2)
            .success
    );
    assert_eq!(escape("a.b*c"), r"a\.b\*c");
}
