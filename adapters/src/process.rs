//! Child-process plumbing shared by the acpx runtime and the claude runner:
//! children in their own process group (so a timeout can kill everything
//! they started), the bounded tail of their stderr, and a bounded copy of
//! their stdout (a child must not make the gateway hold unbounded memory).

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// How much of a child's stderr is kept for error reports.
pub(crate) const STDERR_TAIL_BYTES: usize = 8 * 1024;

/// How much of a child's stdout [`collect`] keeps; the rest is read and dropped.
pub(crate) const MAX_STDOUT_BYTES: usize = 64 * 1024 * 1024;

/// A command for `bin args`, leading its own process group, all three
/// standard streams piped.
pub(crate) fn group_command(bin: &Path, args: &[OsString]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The owner reaps explicitly; a dropped handle still must not leave
        // a hung child behind.
        .kill_on_drop(true);
    cmd
}

/// Sends SIGKILL to the process group led by `pid`: whether a group got it
/// (a group already gone is not an error).
pub(crate) fn kill_group(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        // 0 or negative would address our own group or every process.
        return false;
    }
    match killpg(Pid::from_raw(raw), Signal::SIGKILL) {
        Ok(()) => true,
        Err(nix::errno::Errno::ESRCH) => false,
        Err(e) => {
            tracing::warn!(pid, error = %e, "could not kill a child's process group");
            false
        }
    }
}

/// How long a killed process group gets to be reaped and its stderr drained.
pub(crate) const REAP_LIMIT: Duration = Duration::from_secs(5);

/// What a child left behind when run to its end, or killed at its limit.
pub(crate) struct Collected {
    /// What it printed on stdout (until the limit), at most [`MAX_STDOUT_BYTES`].
    pub stdout: Vec<u8>,
    /// Whether it printed more than [`MAX_STDOUT_BYTES`] (the rest was dropped).
    pub truncated: bool,
    /// Its exit code; `None` when killed by a signal or past the limit.
    pub code: Option<i32>,
    /// The last [`STDERR_TAIL_BYTES`] of its stderr.
    pub stderr_tail: String,
    /// Whether the limit ran out (its process group was then killed).
    pub timed_out: bool,
}

/// Reads a child's stdout to its end (keeping at most [`MAX_STDOUT_BYTES`])
/// and waits for it, within `limit`; past the limit its whole process group
/// is killed and reaped. Stdin is the caller's.
pub(crate) async fn collect(child: Child, limit: Duration) -> Collected {
    collect_capped(child, limit, MAX_STDOUT_BYTES).await
}

/// [`collect`] keeping at most `max_stdout` bytes of stdout.
async fn collect_capped(mut child: Child, limit: Duration, max_stdout: usize) -> Collected {
    let pid = child.id();
    let stderr = child.stderr.take().map(|e| tokio::spawn(read_tail(e, STDERR_TAIL_BYTES)));
    let mut stdout_pipe = child.stdout.take();
    let mut stdout = Capped::default();
    let work = async {
        if let Some(s) = stdout_pipe.as_mut() {
            read_capped(s, &mut stdout, max_stdout).await;
        }
        child.wait().await
    };
    let finished = tokio::time::timeout(limit, work).await;
    let timed_out = finished.is_err();
    if timed_out {
        if let Some(pid) = pid {
            kill_group(pid);
        }
        // Reap the killed leader so no zombie is left; the rest of its group died with it.
        let _ = tokio::time::timeout(REAP_LIMIT, child.wait()).await;
    }
    let stderr_tail = match stderr {
        Some(task) => tokio::time::timeout(REAP_LIMIT, task).await.ok().and_then(Result::ok).unwrap_or_default(),
        None => String::new(),
    };
    let code = finished.ok().and_then(Result::ok).and_then(|s| s.code());
    Collected { stdout: stdout.bytes, truncated: stdout.truncated, code, stderr_tail, timed_out }
}

/// The head of a stream, and whether more came.
#[derive(Debug, Default)]
struct Capped {
    bytes: Vec<u8>,
    truncated: bool,
}

/// Reads `reader` to its end into `out`, keeping its first `max` bytes. The
/// rest is still read, so a child writing more is never blocked on a full
/// pipe (it would then only end at the time limit). Written into `out`
/// rather than returned so a caller's timeout keeps what came so far.
async fn read_capped<R: AsyncRead + Unpin>(reader: &mut R, out: &mut Capped, max: usize) {
    let mut buf = vec![0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            // A read error only shortens the output; the exit code still decides.
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(out.bytes.len());
                let keep = n.min(room);
                out.bytes.extend_from_slice(&buf[..keep]);
                if keep < n {
                    out.truncated = true;
                }
            }
        }
    }
}

/// Reads `reader` to its end, keeping only the last `max` bytes, as text.
pub(crate) async fn read_tail<R: AsyncRead + Unpin>(mut reader: R, max: usize) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                // Trim in batches so a chatty child costs amortised O(1) per byte.
                if kept.len() > 2 * max {
                    kept.drain(..kept.len() - max);
                }
            }
        }
    }
    tail_text(&kept, max)
}

/// The last `max` bytes of `bytes` as text: invalid UTF-8 replaced, a
/// character cut at the front dropped.
pub(crate) fn tail_text(bytes: &[u8], max: usize) -> String {
    let mut tail = &bytes[bytes.len().saturating_sub(max)..];
    if tail.len() < bytes.len() {
        // Skip continuation bytes (10xxxxxx) of a character cut in half.
        while let Some((&b, rest)) = tail.split_first() {
            if b & 0b1100_0000 != 0b1000_0000 {
                break;
            }
            tail = rest;
        }
    }
    String::from_utf8_lossy(tail).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_only() {
        let text = format!("{}END", "x".repeat(10_000));
        let tail = tail_text(text.as_bytes(), 100);
        assert_eq!(tail.len(), 100);
        assert!(tail.ends_with("END"));
    }

    #[test]
    fn the_tail_never_panics_on_bad_utf8_or_cut_characters() {
        assert_eq!(tail_text(&[0xff, b'a'], 10), "\u{fffd}a");
        let text = "ééé".as_bytes();
        assert_eq!(tail_text(text, 3), "é");
        assert_eq!(tail_text(b"", 3), "");
    }

    #[tokio::test]
    async fn read_tail_reads_a_long_stream_to_its_end() {
        let data = format!("{}tail", "y".repeat(100_000)).into_bytes();
        let tail = read_tail(&data[..], 8).await;
        assert_eq!(tail, "yyyytail");
    }

    #[tokio::test]
    async fn read_capped_keeps_the_head_and_says_when_more_came() {
        let mut out = Capped::default();
        read_capped(&mut &b"0123456789abc"[..], &mut out, 10).await;
        assert_eq!(out.bytes, b"0123456789");
        assert!(out.truncated);
        let mut exact = Capped::default();
        read_capped(&mut &b"0123456789"[..], &mut exact, 10).await;
        assert_eq!(exact.bytes, b"0123456789");
        assert!(!exact.truncated, "exactly the limit is not truncated");
    }

    #[tokio::test]
    async fn collect_drains_a_child_past_the_cap_so_it_can_finish() -> std::io::Result<()> {
        // 1 MiB is far beyond a pipe's buffer: without draining, the child
        // would block on write and only end at the time limit.
        let args: Vec<OsString> = vec!["-c".into(), "head -c 1048576 /dev/zero; echo done >&2".into()];
        let child = group_command(Path::new("/bin/sh"), &args).spawn()?;
        let done = collect_capped(child, Duration::from_secs(20), 1000).await;
        assert!(!done.timed_out);
        assert_eq!(done.code, Some(0));
        assert_eq!(done.stdout.len(), 1000);
        assert!(done.truncated);
        assert_eq!(done.stderr_tail, "done\n");
        Ok(())
    }

    #[tokio::test]
    async fn killing_a_group_kills_its_leader() -> std::io::Result<()> {
        let args: Vec<OsString> = vec!["-c".into(), "sleep 30 & wait".into()];
        let mut child = group_command(Path::new("/bin/sh"), &args).spawn()?;
        let pid = child.id().unwrap_or(0);
        assert!(kill_group(pid));
        let status = child.wait().await?;
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
        assert!(!kill_group(0), "0 would be our own group");
        Ok(())
    }
}
