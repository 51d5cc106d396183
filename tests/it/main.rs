//! lzaudit's one integration-test binary (one link on a 2-core machine): catalogue invariants,
//! per-check fixtures, and end-to-end runs of the binary against the loopback emulator.

mod azure_devops;
mod catalogue;
mod checks;
mod cli;
mod collect;
mod diff;
mod e2e;
mod example;
mod faults;
mod generated;
mod reports;
mod support;
mod terminal;
