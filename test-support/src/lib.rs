//! What the tests and the benchmarks share: where the built binaries and the
//! pinned tools are (each missing one named with the command that provides
//! it), starting a server process and reading its start lines, the
//! gateway on a fresh data directory and an HTTP client for it, server-sent
//! events, and what `/proc` says about processes.

// A harness: what cannot be set up fails the test that asked, by panicking.
#![allow(clippy::expect_used)]

mod gateway;
mod process;
mod sse;

pub use gateway::{runtime, Instance, Reply, Server};
pub use process::{cpu_secs_of, processes_under, processes_with_home, rss_of, Started};
pub use sse::{Sse, SseEvent};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (this crate lives in `<root>/test-support`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The binary `name` of the running build: next to the running executable,
/// or one up from a test's `deps/`. Cargo puts it there for the tests of the
/// package that owns it (`CARGO_BIN_EXE_*`); `cargo test` builds it.
pub fn built(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    let dir = me.parent().unwrap_or(Path::new("."));
    let dir = if dir.ends_with("deps") { dir.parent().unwrap_or(dir) } else { dir };
    dir.join(name)
}

/// The target directory of the running build (whatever `CARGO_TARGET_DIR` says).
pub fn target_dir() -> PathBuf {
    let profile_dir = built("clawdforge").parent().map(Path::to_path_buf).unwrap_or_default();
    profile_dir.parent().map(Path::to_path_buf).unwrap_or(profile_dir)
}

/// The `clawdforge` binary of this build; panics with the command that builds it.
pub fn bin() -> PathBuf {
    let bin = built("clawdforge");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p clawdforge` (`cargo test` does)",
        bin.display()
    );
    bin
}

/// The project's pinned acpx; panics with the command that installs it.
pub fn acpx() -> PathBuf {
    node_tool("acpx")
}

/// A pinned Node tool (`node_modules/.bin/<name>`); panics with the command that installs it.
pub fn node_tool(name: &str) -> PathBuf {
    let tool = root().join("node_modules/.bin").join(name);
    assert!(tool.is_file(), "{} is missing: install it with `./scripts/setup`", tool.display());
    tool
}

/// A tool of the tests' Python venv (`target/sdk-venv`); panics with the command that installs it.
pub fn venv_tool(name: &str) -> PathBuf {
    let tool = root().join("target/sdk-venv/bin").join(name);
    assert!(tool.is_file(), "{} is missing: install it with `./scripts/setup --tests`", tool.display());
    tool
}

/// The last non-empty line of some output.
pub fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned()
}

/// Polls `f` until it yields `Some`, for up to `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not reached within {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
