//! acpx's own records of a session under its HOME: `.acpx/sessions/<record
//! id>.json` (which names our session and holds its messages, prompts
//! included) and the files beside it (`<record id>.stream.ndjson`, its
//! rotated segments, locks). The purge removes them all, so that no prompt
//! outlives the hard TTL anywhere.

use std::path::{Path, PathBuf};

/// How much of a record is read to find its name: acpx writes `name` near
/// the top, before the messages.
const HEAD_BYTES: usize = 16 * 1024;

/// Removes every file of the acpx session named `name`; returns how many.
pub(crate) async fn remove_session_records(state_home: &Path, name: &str) -> std::io::Result<usize> {
    let dir = state_home.join(".acpx").join("sessions");
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut all = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(record) = file.strip_suffix(".json") {
            if !record.contains('.') && names(&entry.path(), name).await {
                records.push(record.to_owned());
            }
        }
        all.push((file, entry.path()));
    }
    let mut removed = 0;
    for (file, path) in all {
        if records.iter().any(|r| file == format!("{r}.json") || file.starts_with(&format!("{r}."))) {
            remove(&path).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether the record at `path` is the session named `name`.
async fn names(path: &PathBuf, name: &str) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(file) = tokio::fs::File::open(path).await else { return false };
    let mut head = Vec::with_capacity(HEAD_BYTES);
    if file.take(HEAD_BYTES as u64).read_to_end(&mut head).await.is_err() {
        return false;
    }
    let head = String::from_utf8_lossy(&head);
    head.contains(&format!("\"name\": \"{name}\"")) || head.contains(&format!("\"name\":\"{name}\""))
}

async fn remove(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_named_sessions_files_are_removed() {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join(".acpx/sessions");
        std::fs::create_dir_all(&dir).expect("dir");
        let write = |f: &str, body: &str| std::fs::write(dir.join(f), body).expect("write");
        write("rec-1.json", "{\n  \"name\": \"mine\",\n  \"messages\": [\"secret\"]\n}");
        write("rec-1.stream.ndjson", "secret");
        write("rec-1.stream.1.ndjson", "secret");
        write("rec-1.stream.lock", "");
        write("rec-2.json", "{\"name\":\"other\"}");
        write("rec-2.stream.ndjson", "theirs");
        assert_eq!(remove_session_records(home.path(), "mine").await.expect("removed"), 4);
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("e").file_name().to_string_lossy().into()).collect();
        left.sort();
        assert_eq!(left, ["rec-2.json", "rec-2.stream.ndjson"]);
        assert_eq!(remove_session_records(home.path(), "mine").await.expect("again"), 0);
    }
}
