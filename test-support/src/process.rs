//! Server processes: starting one and reading its start lines, and what
//! Linux's `/proc` says about processes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// A started server: its process, the address it printed, and what it printed before.
pub struct Started {
    /// The process (killed and reaped on drop).
    pub child: Child,
    /// `http://ADDR` from its `listening on` line.
    pub base: String,
    /// The stdout lines printed before the `listening on` line.
    pub banner: Vec<String>,
    /// Everything it has written to stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Started {
    /// Starts `cmd`, keeping its stderr, and waits up to `within` for its `listening on` line.
    pub fn start(cmd: Command, within: Duration) -> Result<Started, String> {
        Self::spawn(cmd, within, true)
    }

    /// As [`Started::start`], with stderr discarded (for benchmarks, where reading it would be measured).
    pub fn start_quiet(cmd: Command, within: Duration) -> Result<Started, String> {
        Self::spawn(cmd, within, false)
    }

    fn spawn(mut cmd: Command, within: Duration, keep_stderr: bool) -> Result<Started, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if keep_stderr { Stdio::piped() } else { Stdio::null() })
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        if let Some(err) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let deadline = Instant::now() + within;
        let mut banner = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                return Err(format!("the server did not start; stdout: {banner:?}; stderr:\n{err}"));
            };
            if let Some(addr) = line.split("listening on ").nth(1) {
                return Ok(Started { child, base: addr.trim().to_owned(), banner, stderr });
            }
            banner.push(line);
        }
    }

    /// The token printed after `created app default`, if this start printed one.
    pub fn default_token(&self) -> Option<String> {
        let at = self.banner.iter().position(|l| l.starts_with("created app default"))?;
        self.banner.get(at + 1).map(|t| t.trim().to_owned())
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes whose working directory lies under `dir` (agents run in
/// their session's workspace).
pub fn processes_under(dir: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::canonicalize(dir) else { return Vec::new() };
    all_pids()
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .collect()
}

/// The processes whose environment sets `HOME=<home>` (every agent, acpx
/// client and acpx queue owner of a gateway runs with its agent HOME, even
/// when detached from the gateway's process tree).
pub fn processes_with_home(home: &Path) -> Vec<u32> {
    let want = format!("HOME={}", home.display()).into_bytes();
    all_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want))
        })
        .collect()
}

fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.filter_map(Result::ok).filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok())).collect()
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

/// CPU time (user + system) process `pid` has used so far, in seconds
/// (`/proc` counts in USER_HZ = 100 ticks a second).
pub fn cpu_secs_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}
