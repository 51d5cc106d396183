//! The Rust evaluators: one file per check whose logic joins resources (policy coverage through
//! management groups, registry wiring, Defender plans against cluster settings, cost).
//!
//! `lookup` is the one table binding a check ID to its evaluator; a check file with
//! `logic.kind = "rust"` and no entry here is rejected when the catalogue loads.

use super::Evaluator;

mod aks_001;
mod aks_002;
mod aks_003;
mod aks_005;
mod aks_010;
mod aks_012;
mod aks_016;
mod aks_017;
mod aks_024;
mod aks_032;
mod aks_040;

/// The evaluator registered for a check ID.
pub fn lookup(id: &str) -> Option<Evaluator> {
    let evaluator: Evaluator = match id {
        "AKS-001" => aks_001::evaluate,
        "AKS-002" => aks_002::evaluate,
        "AKS-003" => aks_003::evaluate,
        "AKS-005" => aks_005::evaluate,
        "AKS-010" => aks_010::evaluate,
        "AKS-012" => aks_012::evaluate,
        "AKS-016" => aks_016::evaluate,
        "AKS-017" => aks_017::evaluate,
        "AKS-024" => aks_024::evaluate,
        "AKS-032" => aks_032::evaluate,
        "AKS-040" => aks_040::evaluate,
        _ => return None,
    };
    Some(evaluator)
}
