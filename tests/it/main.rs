//! lzaudit's one integration-test binary (one link on a 2-core machine): catalogue invariants,
//! per-check fixtures, and end-to-end runs of the binary against the loopback emulator.

mod azure_devops;
mod catalogue;
mod cel_limits;
mod checks;
mod cli;
mod collect;
mod diff;
mod e2e;
mod example;
mod faults;
mod fuzz_seeds;
mod generated;
mod inputs;
mod outputs;
mod pacing;
mod reports;
mod resource_graph;
mod signals;
mod signin;
mod soak;
mod support;
mod terminal;
