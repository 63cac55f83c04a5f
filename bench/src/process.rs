//! Child processes the benchmarks measure: the gateway and the baseline
//! server, started through the shared harness (`clawdforge-test-support`).

use clawdforge_test_support::{cpu_secs_of, Started};
pub use clawdforge_test_support::{processes_with_home, root, rss_of};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The release binaries next to this one (`scripts/bench` builds both).
pub fn sibling(name: &str) -> PathBuf {
    clawdforge_test_support::built(name)
}

/// A running server.
pub struct Running {
    started: Started,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The token printed at start, if any.
    pub token: String,
}

impl Running {
    /// Starts `cmd` and waits for its `listening on` line (its stderr is discarded).
    pub fn start(cmd: Command) -> Result<Running, String> {
        let started = Started::start_quiet(cmd, Duration::from_secs(60))?;
        let token = started.default_token().unwrap_or_default();
        Ok(Running { base: started.base.clone(), token, started })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.started.child.id()
    }

    /// CPU time (user + system) the process has used so far, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs_of(self.pid())
    }

    /// Resident set size in bytes.
    pub fn rss_bytes(&self) -> u64 {
        rss_of(self.pid())
    }
}

/// A gateway on a fresh data directory with `extra` TOML.
pub fn gateway(dir: &Path, extra: &str) -> Result<Running, String> {
    gateway_with(&sibling("clawdforge"), dir, extra)
}

/// [`gateway`] with the server binary `bin` (another build, to compare).
pub fn gateway_with(bin: &Path, dir: &Path, extra: &str) -> Result<Running, String> {
    let config = dir.join("clawdforge.toml");
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nacpx_bin = {:?}\nbuiltin_agents = []\n{extra}\n",
        dir.join("data"),
        root().join("node_modules/.bin/acpx"),
    );
    std::fs::write(&config, toml).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin);
    // Default logging (one line per request) is part of the stack being measured.
    cmd.arg("--config").arg(&config).arg("serve");
    Running::start(cmd)
}
