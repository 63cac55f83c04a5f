//! What the gateway leaves on disk: private files, nothing of a purged
//! session, no download set off by a client (SPEC: Operations, v0.3).

use crate::support::{eventually, Instance};
use nix::sys::stat::{umask, Mode};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn the_data_directory_ledger_and_workspaces_are_private_under_umask_022() {
    // The usual umask, under which files come out world-readable unless the server sees to it.
    umask(Mode::from_bits_truncate(0o022));
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    server.turn(&token, &id, "private words").await.expect_status(200);
    let data = instance.dir.path().join("data");
    for dir in [data.clone(), data.join("workspaces"), data.join("workspaces/default"), data.join("acpx-home")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(mode(&data.join("workspaces/default").join(&id)), 0o700);
    for file in ["ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

fn files_containing(root: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

#[tokio::test]
async fn the_hard_ttl_purge_leaves_the_prompt_nowhere_under_acpx_home() {
    // acpx's own records: the acp runtime keeps none of the prompt outside the ledger.
    let instance = Instance::new("session_hard_ttl_secs = 1\nsweep_interval_secs = 1\nagent_runtime = \"acpx\"\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let prompt = "the purple walrus sings at midnight";
    server.turn(&token, &id, prompt).await.expect_status(200);
    let home = instance.dir.path().join("data/acpx-home");
    assert!(!files_containing(&home, prompt.as_bytes()).is_empty(), "acpx keeps the prompt while the session lives");
    server.delete(&token, &id).await.expect_status(200);
    let path = format!("/sessions/{id}");
    eventually(30, || async { (server.get(&token, &path).await.status.as_u16() == 404).then_some(()) }).await;
    // The purge removes the records after the ledger rows; give it its pass.
    eventually(10, || async { files_containing(&home, prompt.as_bytes()).is_empty().then_some(()) }).await;
    assert!(files_containing(&instance.dir.path().join("data/workspaces"), prompt.as_bytes()).is_empty());
}

#[tokio::test]
async fn a_builtin_agent_that_is_not_installed_is_not_offered() {
    let instance = Instance::new("builtin_agents = [\"claude\", \"codex\"]\n");
    let server = instance.start();
    let token = server.token();
    for agent in ["claude", "codex"] {
        let r = server.create(&token, agent).await;
        assert_eq!(r.status.as_u16(), 422, "{agent}: {}", r.body);
    }
    assert!(server.stderr.lock().expect("lock").contains("not offered"));
}
