//! HTTP/1.1 on the wire, written for the gateway's two connections: clients to the host and the
//! host to plain-`http` backends. Pieces both sides share live here.

pub mod chunked;
pub mod client;
pub mod date;
pub mod fields;
pub mod rewind;
pub mod server;
