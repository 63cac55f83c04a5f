//! Child processes the benchmarks measure: the gateway and the baseline server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The release binaries next to this one (`scripts/bench` builds both).
pub fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().map(|d| d.join(name)).unwrap_or_else(|| PathBuf::from(name))
}

/// The checkout's root (this binary lives in `<root>/target/release`).
pub fn root() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// A running server.
pub struct Running {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The token printed at start, if any.
    pub token: String,
}

impl Running {
    /// Starts `cmd` and waits for its `listening on` line.
    pub fn start(mut cmd: Command) -> Result<Running, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut token = String::new();
        let mut lines = Vec::new();
        loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| format!("no start line; saw {lines:?}"))?;
            if let Some(addr) = line.split("listening on ").nth(1) {
                return Ok(Running { child, base: addr.trim().to_owned(), token });
            }
            if line.starts_with("cf_") {
                token = line.trim().to_owned();
            }
            lines.push(line);
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far, in seconds
    /// (Linux `/proc`, which counts in USER_HZ = 100 ticks a second).
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
        ticks as f64 / 100.0
    }

    /// Resident set size in bytes (Linux `/proc`).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Resident set size of process `pid` in bytes (0 when gone).
pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// The processes whose environment sets `HOME=<home>` (every agent, acpx
/// client and acpx queue owner of a gateway runs with its agent HOME, even
/// when detached from the gateway's process tree).
pub fn processes_with_home(home: &Path) -> Vec<u32> {
    let want = format!("HOME={}", home.display()).into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want))
        })
        .collect()
}
