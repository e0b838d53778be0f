pub mod check;
pub mod diff;
pub mod eval;
pub mod fmt;
pub mod serve;
pub mod simulate;
pub mod test;
