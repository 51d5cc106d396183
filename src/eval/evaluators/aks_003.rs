//! AKS-003 (scaffold: to be replaced by the real evaluator).

use crate::catalogue::Check;
use crate::eval::{EvalContext, Finding};

pub fn evaluate(_check: &Check, _ctx: &EvalContext) -> Vec<Finding> {
    Vec::new()
}
