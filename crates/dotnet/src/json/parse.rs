//! `JToken.Parse` with Newtonsoft's defaults.

use super::JToken;
use crate::error::{DotNetException, DotNetResult};

/// Reader settings that matter for parsing (Newtonsoft defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSettings {
    /// DateParseHandling.DateTime (default): ISO-8601-looking strings become Date tokens.
    pub parse_dates: bool,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings { parse_dates: true }
    }
}

/// `JToken.Parse(text)`.
pub fn parse_token(_text: &str, _settings: LoadSettings) -> DotNetResult<JToken> {
    Err(DotNetException::not_supported("JToken.Parse"))
}
