//! Conversions between tokens and CLR values: explicit operators, `Value<T>`, `ToObject<T>`,
//! `JToken.FromObject`.

use super::{JToken, JValue};
use crate::clr::{ClrType, ClrValue};
use crate::error::{DotNetException, DotNetResult};

pub(crate) fn values_equal(a: &JValue, b: &JValue) -> bool {
    use JValue::*;
    match (a, b) {
        (Null, Null) | (Undefined, Undefined) => true,
        (Integer(x), Integer(y)) => x == y,
        (Float(x), Float(y)) => x == y,
        (String(x), String(y)) => x == y,
        (Boolean(x), Boolean(y)) => x == y,
        _ => false,
    }
}

/// `Extensions.Convert<JToken, U>` as used by `Value<T>()`.
pub fn extensions_convert(
    _token: Option<&JToken>,
    _target: ClrType,
    _nullable: bool,
) -> DotNetResult<ClrValue> {
    Err(DotNetException::not_supported("JToken.Value<T>"))
}

/// `JToken.FromObject(value)` / the implicit conversions to JToken.
pub fn from_clr(_value: &ClrValue) -> DotNetResult<JToken> {
    Err(DotNetException::not_supported("JToken.FromObject"))
}
