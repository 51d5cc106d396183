//! The Rust evaluators: one file per check whose logic joins resources (policy coverage through
//! management groups, registry wiring, Defender plans against cluster settings, cost).
//!
//! `lookup` is the one table binding a check ID to its evaluator; a check file with
//! `logic.kind = "rust"` and no entry here is rejected when the catalogue loads.

use super::Evaluator;

mod aks_001;
mod aks_002;
mod aks_003;
mod aks_004;
mod aks_005;
mod aks_006;
mod aks_007;
mod aks_008;
mod aks_009;
mod aks_010;
mod aks_011;
mod aks_012;
mod aks_014;
mod aks_016;
mod aks_017;
mod aks_018;
mod aks_019;
mod aks_023;
mod aks_024;
mod aks_025;
mod aks_026;
mod aks_028;
mod aks_030;
mod aks_031;
mod aks_032;
mod aks_035;
mod aks_040;
mod aks_044;
mod aks_045;
mod aks_046;
mod aks_047;
mod aks_048;
mod assessments;
mod defender;
mod diagnostics;
mod guardrails;
mod pull;

/// The evaluator registered for a check ID.
pub fn lookup(id: &str) -> Option<Evaluator> {
    let evaluator: Evaluator = match id {
        "AKS-001" => aks_001::evaluate,
        "AKS-002" => aks_002::evaluate,
        "AKS-003" => aks_003::evaluate,
        "AKS-004" => aks_004::evaluate,
        "AKS-005" => aks_005::evaluate,
        "AKS-006" => aks_006::evaluate,
        "AKS-007" => aks_007::evaluate,
        "AKS-008" => aks_008::evaluate,
        "AKS-009" => aks_009::evaluate,
        "AKS-010" => aks_010::evaluate,
        "AKS-011" => aks_011::evaluate,
        "AKS-012" => aks_012::evaluate,
        "AKS-014" => aks_014::evaluate,
        "AKS-016" => aks_016::evaluate,
        "AKS-017" => aks_017::evaluate,
        "AKS-018" => aks_018::evaluate,
        "AKS-019" => aks_019::evaluate,
        "AKS-023" => aks_023::evaluate,
        "AKS-024" => aks_024::evaluate,
        "AKS-025" => aks_025::evaluate,
        "AKS-026" => aks_026::evaluate,
        "AKS-028" => aks_028::evaluate,
        "AKS-030" => aks_030::evaluate,
        "AKS-031" => aks_031::evaluate,
        "AKS-032" => aks_032::evaluate,
        "AKS-035" => aks_035::evaluate,
        "AKS-040" => aks_040::evaluate,
        "AKS-044" => aks_044::evaluate,
        "AKS-045" => aks_045::evaluate,
        "AKS-046" => aks_046::evaluate,
        "AKS-047" => aks_047::evaluate,
        "AKS-048" => aks_048::evaluate,
        _ => return None,
    };
    Some(evaluator)
}
