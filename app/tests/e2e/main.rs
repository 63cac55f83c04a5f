//! Black-box tests of the whole binary: the real SQLite (and Postgres) ledger, the real
//! acpx and the bundled echo agent, over HTTP on loopback.

// Helpers outside the #[test] functions fail their test the same way: by panicking.
#![allow(clippy::expect_used)]

mod acp;
mod caps;
mod cluster;
mod connections;
mod disk;
mod errors;
mod files;
mod lifecycle;
mod observability;
mod operations;
mod output;
mod permissions;
mod postgres;
mod raw;
mod schemathesis;
mod sdk;
mod sessions;
mod streaming;
mod support;
