//! In-process tests of the HTTP API over the memory ledger and mocked agents.
//! The original Python service's scenarios are ported one to one, plus every
//! status code of SPEC.md.

mod auth;
mod closing;
mod creating;
mod events;
mod isolation;
mod listing;
mod logging;
mod openapi;
mod parsing;
mod run;
mod streaming;
mod support;
mod sweeping;
mod turns;
