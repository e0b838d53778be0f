//! .NET runtime semantics the expression language needs (the "BCL" subset): number and date
//! formatting, DateTime/TimeSpan/Guid/Random, Regex dialect, encodings, hashes, Newtonsoft JSON.
//!
//! Pure library: no I/O, no clock, no OS randomness (callers pass time and seeds in).
//! Every index and length is in UTF-16 code units, as in .NET.

// Method names mirror .NET members (`Add`, `Next`), not Rust operator traits.
#![allow(clippy::should_implement_trait)]

pub mod clr;
pub mod convert;
pub mod datetime;
pub mod datetime_format;
pub mod error;
pub mod guid;
pub mod json;
pub mod math;
pub mod number;
pub mod number_format;
pub mod random;
pub mod string;

pub use clr::{ClrType, ClrValue};
pub use datetime::{DateTime, DateTimeKind, DateTimeOffset, DayOfWeek, TimeSpan};
pub use error::{DotNetException, DotNetResult, ExceptionKind};
pub use guid::Guid;
pub use json::{Formatting, JKey, JToken, JTokenType, JValue};
pub use rust_decimal::Decimal;
