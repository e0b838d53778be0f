//! The APIM policy document model: reader for the raw and escaped XML forms, the schema of
//! every policy element, section placement rules, the writer used by `fmt`, and diagnostics.
//!
//! # Reading
//!
//! [`read`] takes the bytes of a policy document (`<policies>`, `<fragment>`, or a bare snippet
//! of policy elements) in either form APIM accepts: escaped XML, or raw text where expressions
//! contain unescaped quotes, `<` and `&&`. It returns a [`ReadResult`]: the
//! [`PolicyDocument`] (when there is no error) and every [`Diagnostic`] with its line and column.
//!
//! ```
//! let r = apim_policy::read(r#"<policies><inbound>
//!   <set-variable name="n" value="@(context.Variables["x"] == null && 1 < 2)" />
//! </inbound></policies>"#, "example.xml");
//! let doc = r.document.expect("no errors");
//! let inbound = doc.section(apim_policy::SectionKind::Inbound).unwrap();
//! let value = inbound.policies[0].attr("value").unwrap();
//! assert_eq!(value.as_expression().unwrap().code(), r#"context.Variables["x"] == null && 1 < 2"#);
//! ```
//!
//! # The model
//!
//! [`PolicyDocument`] → [`Section`]s (or a fragment body) → [`Element`]s. Each element has an
//! [`ElementKind`] (one per policy and child element in the schema), its [`Attribute`]s, and
//! [`Content`]: child elements, a text [`Value`], or markup kept as written. Every value is an
//! [`AttrValue`]: a literal, an [`Expression`] (source, span, `@(`/`@{` kind, named-value
//! references inside it) or a [`Template`] with `{{named value}}` references. Every node has a
//! [`Span`] (byte range, line, column). Compare models ignoring positions with
//! [`PolicyDocument::without_spans`].
//!
//! For compiling: [`PolicyDocument::walk`] visits every element and [`PolicyDocument::values`]
//! lists every attribute value and element text in document order; [`Value::named_values`]
//! gives the `{{name}}` references of a value (template parts, or inside an expression and its
//! C# string literals) with their file spans; [`Expression::file_offset`] maps an offset in an
//! expression's source (say, of a C# parse error) back to the file, also for escaped or CRLF
//! text.
//!
//! The typed view [`Policy`] (module [`typed`]) has one variant per policy, each a struct with
//! one field per attribute and typed child elements (`SetHeader { name, exists_action, values }`,
//! `Choose { whens, otherwise }`, `SendRequest { set_url, set_method, set_headers, set_body,
//! authentication, proxy, .. }` ...): `Policy::from_element(&element)` or
//! [`Section::typed_policies`]. [`schema`] holds the table of every element, attribute and
//! section rule.
//!
//! # Scopes
//!
//! A file does not say where it is attached; when the caller knows, [`check_scope`] reports
//! policies APIM does not allow at that [`Scope`] (`quota` outside product scope ...).
//!
//! # Writing
//!
//! [`write()`] converts a document between the escaped ([`Form::Xml`]) and raw
//! ([`Form::RawXml`]) forms, rewriting only values so comments and layout stay as they are.
//!
//! # Diagnostics
//!
//! [`diag`] holds [`Diagnostic`], [`Severity`], the stable codes, and the renderers used by
//! `apim-emu check` ([`diag::render_human`], [`diag::render_json`]). [`LineIndex`] maps byte
//! offsets to line and column.

pub mod diag;
pub mod model;
pub mod prescan;
pub mod reader;
pub mod schema;
pub mod scope;
pub mod span;
pub mod typed;
pub mod writer;

pub use diag::{Diagnostic, Severity};
pub use model::*;
pub use reader::{ReadResult, read, read_str};
pub use schema::ElementSpec;
pub use scope::{Scope, check_scope};
pub use span::{LineIndex, Span};
pub use typed::Policy;
pub use writer::{Form, WriteError, write};
