//! Shared test helpers: fixtures, running the binary, the emulator.

pub mod bin;
pub mod fixture;
pub mod scale;
pub mod tenants;
