//! The shared harness (`clawdforge-test-support`): the real `clawdforge`
//! binary, which cargo builds for these tests, on a free loopback port with
//! its own data directory, and an HTTP client for it.

// The whole harness, whichever part the test files use today.
#[allow(unused_imports)]
pub use clawdforge_test_support::{
    acpx, bin, eventually, last_line, node_tool, processes_under, root, runtime, venv_tool, Instance, Reply, Server,
    Sse, SseEvent,
};
