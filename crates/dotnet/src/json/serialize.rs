//! `JsonConvert.SerializeObject` / `DeserializeObject`.

use super::{Formatting, JToken};
use crate::clr::{ClrType, ClrValue};
use crate::error::{DotNetException, DotNetResult};

/// `JsonConvert.SerializeObject(value, formatting)`.
pub fn serialize_object(_value: &ClrValue, _formatting: Formatting) -> DotNetResult<String> {
    Err(DotNetException::not_supported(
        "JsonConvert.SerializeObject",
    ))
}

/// `JsonConvert.DeserializeObject(text)` (target None) or `DeserializeObject<T>(text)`.
pub fn deserialize_object(_text: &str, _target: Option<ClrType>) -> DotNetResult<ClrValue> {
    let _ = JToken::new_object;
    Err(DotNetException::not_supported(
        "JsonConvert.DeserializeObject",
    ))
}
