//! The echo agent's per-session turn counters, kept in a small file in the
//! session's working directory so they survive an agent restart.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The file, inside a session's working directory.
const STATE_FILE: &str = ".clawdforge-echo-agent.json";

/// Completed turns per agent session id, as stored in one directory.
type Counters = BTreeMap<String, u64>;

/// Where the counters of sessions in `cwd` live.
fn state_path(cwd: &Path) -> PathBuf {
    cwd.join(STATE_FILE)
}

fn read_counters(cwd: &Path) -> io::Result<Counters> {
    match std::fs::read(state_path(cwd)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Counters::new()),
        Err(e) => Err(e),
    }
}

/// The completed turns of session `id` in `cwd`; `None` for a session never stored there.
pub(crate) fn load_turns(cwd: &Path, id: &str) -> io::Result<Option<u64>> {
    Ok(read_counters(cwd)?.get(id).copied())
}

/// Stores `turns` for session `id` in `cwd` (write then rename, so a crash
/// never leaves a torn file behind).
pub(crate) fn store_turns(cwd: &Path, id: &str, turns: u64) -> io::Result<()> {
    let mut counters = read_counters(cwd)?;
    counters.insert(id.to_owned(), turns);
    let tmp = cwd.join(format!("{STATE_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(&counters).map_err(io::Error::other)?)?;
    std::fs::rename(tmp, state_path(cwd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_a_reload_per_session() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(load_turns(dir.path(), "a")?, None);
        store_turns(dir.path(), "a", 0)?;
        store_turns(dir.path(), "b", 2)?;
        store_turns(dir.path(), "a", 3)?;
        assert_eq!(load_turns(dir.path(), "a")?, Some(3));
        assert_eq!(load_turns(dir.path(), "b")?, Some(2));
        Ok(())
    }
}
