//! Talking to Azure: sign-in, the ARM REST client, paging, and the endpoint table.
//!
//! This is the only module (with `collect`, which drives it) that speaks HTTP. `endpoints`
//! knows every URL and api-version and validates user-supplied endpoints; `auth` turns
//! `--auth` and the environment into a cached bearer token over one shared HTTP client;
//! `client` sends each ARM read (a GET, or a body-less POST for the few read actions such as
//! PolicyInsights `queryResults`) with the one retry policy and turns failures into `ArmError`s
//! that map onto coverage; `paging` follows `nextLink`s and `@odata.nextLink`s; `graph` sends
//! Resource Graph queries (paged by `$skipToken`, paced by the per-user quota) through the same
//! client. The CLI calls
//! [`connect`] once and hands the resulting [`ArmClient`] to `collect::run`.

pub mod auth;
pub mod client;
pub mod endpoints;
pub mod graph;
pub mod pacing;
pub mod paging;

pub use auth::{
    AUTO_ORDER, AuthError, AuthMethod, ConnectOptions, Environment, connect, connect_with,
};
pub use client::{ArmClient, ArmError, ArmErrorKind, ClientStats, Expect, Method, RetryPolicy};
pub use endpoints::{Cloud, EndpointError, Endpoints};
pub use paging::{list_all, list_all_with};
