//! Shared test helpers: fixtures, the emulator, running the binary.

pub mod fixture;
