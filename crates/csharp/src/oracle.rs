//! The comparison interface with the C# oracle (CONTRACTS §B).
use crate::EvalError;
use crate::render::{render, type_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalOutcome {
    Value {
        type_name: String,
        rendered: String,
    },
    Exception {
        type_name: String,
        message: String,
    },
    /// Does not parse / type-check (APIM would refuse to save the policy).
    Rejected {
        diagnostics: Vec<String>,
    },
}

/// Compiles `source` (with its `@(...)`/`@{...}` delimiters) and evaluates it with a context
/// built from `context` (the eval context file format).
pub fn evaluate_with_json_context(source: &str, context: &serde_json::Value) -> EvalOutcome {
    let program = match crate::compile(source) {
        Ok(p) => p,
        Err(d) => {
            return EvalOutcome::Rejected {
                diagnostics: d
                    .iter()
                    .map(|d| format!("{}: {}", d.code, d.message))
                    .collect(),
            };
        }
    };
    let ctx = match crate::json_context::context(context) {
        Ok(c) => c,
        Err(e) => {
            return EvalOutcome::Rejected {
                diagnostics: vec![e.to_string()],
            };
        }
    };
    let env = crate::json_context::environment(context);
    match program.evaluate(&ctx, &env) {
        Ok(v) => EvalOutcome::Value {
            type_name: type_name(&v),
            rendered: render(&v),
        },
        Err(EvalError::Exception(e)) => EvalOutcome::Exception {
            type_name: e.kind.name().to_string(),
            message: e.message,
        },
        Err(EvalError::StepBudget(n)) => EvalOutcome::Exception {
            type_name: "StepBudgetExceeded".into(),
            message: format!("exceeded {n} steps"),
        },
    }
}
