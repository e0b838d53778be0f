//! The policy expression language: the C# subset APIM runs, its type checker and evaluator.
//! Knows nothing of HTTP or policies: the `context` object reaches it through host traits
//! ([`host`]).
//!
//! ```no_run
//! let program = apim_csharp::compile("@(1 + 2)").unwrap();
//! let env = apim_csharp::json_context::environment(&serde_json::json!({}));
//! let ctx = apim_csharp::json_context::context(&serde_json::json!({})).unwrap();
//! let v = program.evaluate(&ctx, &env).unwrap();
//! assert_eq!(apim_csharp::render::render(&v), "3");
//! ```
pub mod ast;
pub mod code;
pub mod compile;
pub mod diag;
pub mod host;
pub mod interp;
pub mod json_context;
pub mod lib_core;
pub mod lib_json;
pub mod lib_misc;
pub mod members;
pub mod oracle;
pub mod parser;
pub mod render;
pub mod types;
pub mod value;

pub use diag::Diagnostic;
pub use host::{Environment, FixedEnvironment, HostDictionary, HostMember, HostObject};
pub use oracle::{EvalOutcome, evaluate_with_json_context};
pub use types::Ty;
pub use value::{Exception, Value};

/// Default step budget per evaluation (loop iterations, calls).
pub const DEFAULT_STEP_BUDGET: u64 = 1_000_000;

/// Why an evaluation did not produce a value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EvalError {
    /// A .NET exception escaped the expression (APIM: `ExpressionValueEvaluationFailure`).
    #[error("{0}")]
    Exception(Exception),
    /// The expression ran longer than its step budget.
    #[error("expression evaluation exceeded its budget of {0} steps (runaway loop?)")]
    StepBudget(u64),
}

/// A compiled expression, shared by all requests (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Program {
    code: code::Code,
    budget: u64,
}

/// Parses and type-checks `source` (the full text with its `@(...)` / `@{...}` delimiters).
pub fn compile(source: &str) -> Result<Program, Vec<Diagnostic>> {
    let code = parser::with_stack(source, |s| {
        let root = parser::parse_inner(s)?;
        compile::compile(&root)
    })?;
    Ok(Program {
        code,
        budget: DEFAULT_STEP_BUDGET,
    })
}

impl Program {
    /// The static result type (`object` for `@{}` blocks).
    pub fn result_type(&self) -> &Ty {
        &self.code.result
    }

    pub fn with_budget(mut self, steps: u64) -> Program {
        self.budget = steps;
        self
    }

    /// Evaluates with `context` (a [`Value::Host`] implementing the APIM context) and `env`.
    pub fn evaluate(&self, context: &Value, env: &dyn Environment) -> Result<Value, EvalError> {
        let mut m = interp::Machine::new(&self.code, context, env, self.budget);
        match m.run(&self.code.body) {
            Ok(v) => Ok(v),
            Err(code::Fault::Throw(e)) => Err(EvalError::Exception(e)),
            Err(code::Fault::Budget(n)) => Err(EvalError::StepBudget(n)),
        }
    }
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn values_and_programs_are_send_and_sync() {
        assert_send_sync::<super::Value>();
        assert_send_sync::<super::Program>();
    }
}
