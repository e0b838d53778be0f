//! .NET runtime semantics the expression language needs (the "BCL" subset): number and date
//! formatting, DateTime/TimeSpan/Guid/Random, Regex dialect, encodings, hashes, Newtonsoft JSON.
//!
//! Pure library: no I/O, no clock, no OS randomness (callers pass time and seeds in).
//! Every index and length is in UTF-16 code units, as in .NET. Every fallible call returns a
//! [`DotNetException`] carrying the .NET exception type and message.
//!
//! Map of the crate (C# member → Rust):
//! - Values crossing the boundary: [`ClrValue`] (a boxed .NET value) and [`ClrType`] (a
//!   conversion target). `convert::change_type` = `Convert.ChangeType`/casts of boxed values,
//!   `convert::convert_to` = `Convert.ToXxx`, `convert::to_string_invariant` = `ToString()`.
//! - Newtonsoft: [`JToken`] is a shared handle (clone = same reference). `JToken::parse`,
//!   `parse_object`, `parse_array`; indexers `get`/`set`/`get_index`/`set_index`/`get_key`;
//!   `add`, `add_property`, `remove`, `replace`, `properties`, `children`, `select_token`;
//!   `convert_explicit` = `(T)token`, `value_of_key`/`value_as` = `Value<T>`, `values_as`,
//!   `to_object`; `to_string_default` = `ToString()`, `to_string_formatting`;
//!   `json::serialize_object` / `json::deserialize_object` = `JsonConvert`.
//! - Numbers: `number` (parse, `format_double`), `number_format` (`ToString(format)` for every
//!   numeric type), `math` (Round with MidpointRounding, Abs, Clamp, decimal arithmetic).
//! - Time: [`DateTime`], [`TimeSpan`], [`DateTimeOffset`]; `datetime_format` for
//!   `ToString(format)`, `Parse`, `ParseExact`, `TimeSpan.Parse`.
//! - `random::Random` (seeded .NET algorithm), [`Guid`] (`get_hash_code`, formats, parse).
//! - `string` (UTF-16 string members, `format_composite` = `string.Format`, `StringBuilder`),
//!   `regex::Regex`, `encoding` (Encoding, BitConverter), `web` (WebUtility, Uri), `crypto`.

// Method names mirror .NET members (`Add`, `Next`), not Rust operator traits.
#![allow(clippy::should_implement_trait)]

pub mod clr;
pub mod convert;
pub mod crypto;
pub mod datetime;
pub mod datetime_format;
pub mod encoding;
pub mod environment;
pub mod error;
pub mod guid;
pub mod json;
pub mod math;
pub mod net;
pub mod number;
pub mod number_format;
pub mod random;
pub mod regex;
pub mod string;
pub mod web;

pub use clr::{ClrType, ClrValue};
pub use datetime::{DateTime, DateTimeKind, DateTimeOffset, DayOfWeek, TimeSpan};
pub use error::{DotNetException, DotNetResult, ExceptionKind};
pub use guid::Guid;
pub use json::{Formatting, JKey, JToken, JTokenType, JValue};
pub use rust_decimal::Decimal;
