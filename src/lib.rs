//! lzaudit: audits Azure landing zones that run AKS against the Cloud Adoption Framework's
//! AKS security guidance.
//!
//! The pipeline is `sign in → collect → Inventory → evaluate → findings → profile → report`.
//! `azure` and `collect` are the only modules that speak HTTP; `inventory` is the boundary type;
//! `catalogue` and `eval` turn an inventory into findings without touching the network;
//! `profile` selects checks, sets parameters and applies waivers; `report` renders.

pub mod audit;
pub mod azure;
pub mod catalogue;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod eval;
pub mod exit;
pub mod input;
pub mod interned;
pub mod interrupt;
pub mod inventory;
pub mod json;
pub mod logging;
pub mod output;
pub mod profile;
pub mod progress;
pub mod report;
pub mod text;
