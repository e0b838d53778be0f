//! `SelectToken` (JSONPath subset).

use super::JToken;
use crate::error::{DotNetException, DotNetResult};

impl JToken {
    /// `SelectToken(path)`.
    pub fn select_token(&self, _path: &str) -> DotNetResult<Option<JToken>> {
        Err(DotNetException::not_supported("JToken.SelectToken"))
    }
}
