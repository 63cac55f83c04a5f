//! Everything of clawdforge that touches the world. Each module implements a
//! port of `clawdforge-domain` (or drives the core, for `http`) and only
//! translates: no adapter knows another, none holds a policy.

pub mod clock;
pub mod http;
pub mod ids;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod paths;
pub(crate) mod process;
pub mod runner;
pub mod runtime;
