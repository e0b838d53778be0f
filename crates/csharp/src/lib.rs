//! The policy expression language: the C# subset APIM runs, its type checker and evaluator.
//! Knows nothing of HTTP or policies: the `context` object reaches it through host traits.
pub mod ast;
pub mod diag;
pub mod parser;

pub use diag::Diagnostic;
