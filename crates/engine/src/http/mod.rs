//! The HTTP model: headers, URLs, bodies, requests and responses.

mod body;
mod headers;
mod message;
mod url;

pub use body::{Body, BodyError, BodyStream, DEFAULT_BUFFER_LIMIT};
pub use headers::{
    ExistsAction, HeaderError, HeaderMap, MAX_HEADER_BYTES, PROTECTED_HEADERS,
    REPEATED_LINE_HEADERS, SetHeaderError, is_protected_header, is_repeated_line_header,
    is_valid_name, is_valid_value,
};
pub use message::{Request, Response, reason_phrase};
pub use url::{
    MAX_URL_BYTES, QueryMap, Url, UrlError, default_port, encode_path_segment,
    encode_query_component, percent_decode,
};
