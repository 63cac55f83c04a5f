//! Black-box tests of the whole binary: the real SQLite ledger, the real
//! acpx and the bundled echo agent, over HTTP on loopback.

mod lifecycle;
mod observability;
mod operations;
mod sdk;
mod sessions;
mod support;
