//! The local gateway host: configuration loaders (own format, APIOps), the axum host,
//! streaming, traces and metrics endpoints.
