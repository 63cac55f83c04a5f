//! What the acpx tests and the turn benchmark share: a runtime with its own
//! HOME and workspace. The real acpx and the `clawdforge` binary (for
//! `clawdforge echo-agent`) are found by the shared harness.

#![allow(dead_code)] // Each test target uses its own part of this module.

use clawdforge_adapters::runtime::acpx::{AcpxConfig, AcpxRuntime, AgentCommand, PermissionMode};
use clawdforge_domain::model::{AgentName, AppName, SessionId};
use clawdforge_domain::ports::AgentSession;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The pinned acpx; panics with the command that installs it.
pub fn acpx_bin() -> PathBuf {
    clawdforge_test_support::acpx()
}

/// The `clawdforge` binary of this build; panics with the command that builds it.
pub fn debug_clawdforge() -> PathBuf {
    clawdforge_test_support::bin()
}

/// The `clawdforge` binary of `profile` (`debug` or `release`), if built.
pub fn clawdforge_bin(profile: &str) -> Option<PathBuf> {
    let bin = clawdforge_test_support::target_dir().join(profile).join("clawdforge");
    bin.is_file().then_some(bin)
}

/// A runtime on a fresh HOME and workspace, with the echo agent as `echo`.
pub struct Harness {
    /// Holds HOME and the workspace until the test ends.
    pub dir: tempfile::TempDir,
    /// The runtime under test.
    pub runtime: AcpxRuntime,
}

impl Harness {
    /// A harness whose echo agent runs from `clawdforge` with `--faults`.
    pub fn new(clawdforge: &Path, permissions: PermissionMode) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let agent = format!("{} echo-agent --faults", clawdforge.display());
        let config = AcpxConfig {
            acpx_bin: acpx_bin(),
            workspace_root: dir.path().join("workspace"),
            state_home: dir.path().join("home"),
            agents: BTreeMap::from([("echo".to_owned(), AgentCommand::Custom(agent))]),
            permissions,
            // Queue owners of a failed test must not linger for acpx's default 300 s.
            queue_ttl_secs: Some(30),
            cancel_grace: std::time::Duration::from_secs(5),
        };
        Self { dir, runtime: AcpxRuntime::new(config) }
    }

    /// acpx's HOME for this harness.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // acpx keeps its queue sockets in /tmp/acpx-<first 10 hex of sha256(HOME)>;
        // remove the (by now empty) directory so test runs leave nothing in /tmp.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.home().as_os_str().as_encoded_bytes());
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let _ = std::fs::remove_dir(Path::new("/tmp").join(format!("acpx-{}", &hash[..10])));
    }
}

/// A fresh session address of app `tests` on agent `echo`.
pub fn new_session() -> AgentSession {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let id = format!("sess-{:08x}-{:08x}-{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed));
    AgentSession {
        app: AppName::new("tests").unwrap_or_else(|e| panic!("{e}")),
        id: SessionId::new(id).unwrap_or_else(|e| panic!("{e}")),
        agent: AgentName::new("echo").unwrap_or_else(|e| panic!("{e}")),
    }
}
