//! The APIM policy document model: reader for the raw and escaped XML forms, the schema of
//! every policy element, section placement rules, the writer used by `fmt`, and diagnostics.
