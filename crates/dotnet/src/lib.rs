//! .NET runtime semantics the expression language needs (the "BCL" subset): number and date
//! formatting, DateTime/TimeSpan/Guid/Random, Regex dialect, encodings, hashes, Newtonsoft JSON.
