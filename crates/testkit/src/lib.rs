//! Unit tests for policies: the test-case format, runner, mocks, reporters and `diff`.
//!
//! | module | what |
//! |---|---|
//! | [`format`] | the test file format (serde + JSON Schema), read with positions |
//! | [`matching`] | expectation matching: JSON subset, JSONPath, regex, headers |
//! | [`engine`] | the seam to the policy engine: [`EngineUnderTest`] |
//! | [`runner`] | discovery, parallel deterministic runs, [`Report`] |
//! | [`absence`] | `metricsAbsent`, `eventsAbsent`, `backendCallsAbsent`: what must not happen |
//! | [`report`] | human and JUnit XML output |
//! | [`simulators`] | `type: simulator` backends answered in process on the virtual clock |
//! | [`diff`] | the same requests through two service definitions |
//! | [`cli`] | `apim-emu test` / `apim-emu diff` without argument parsing |

pub mod absence;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod format;
pub mod matching;
pub mod report;
pub mod runner;
pub mod simulators;

pub use engine::{EngineError, EngineUnderTest, Outcome, PlanEngine};
pub use runner::{Report, RunOptions, run_paths, run_suites};
