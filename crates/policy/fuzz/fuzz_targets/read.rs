//! Fuzzes the reader with arbitrary bytes, and the writer with whatever reads cleanly: neither
//! may panic, and converting a readable document must give a readable document with the same
//! model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = apim_policy::read(data, "fuzz.xml");
    if let (Some(doc), Ok(text)) = (r.document, std::str::from_utf8(data)) {
        for form in [apim_policy::Form::Xml, apim_policy::Form::RawXml] {
            let out = apim_policy::write(text, form).expect("a readable document converts");
            let again = apim_policy::read(out.as_bytes(), "fuzz.xml");
            let doc2 = again.document.expect("converted output reads without errors");
            assert_eq!(doc.without_spans(), doc2.without_spans(), "model changed by {form:?}");
        }
    }
});
