//! Black-box tests of the whole binary: the real SQLite (and Postgres) ledger, the real
//! acpx and the bundled echo agent, over HTTP on loopback.

mod lifecycle;
mod operations;
mod postgres;
mod sdk;
mod sessions;
mod support;
