//! "Has anyone committed to the ledger since?" answered without a lock.
//!
//! In WAL mode, every connection to a file — of this process or another one
//! such as `clawdforge app revoke` — publishes each commit by rewriting the
//! *wal-index header* at the start of the `<file>-shm` file. SQLite's own
//! readers look at that header without a lock before they take one. The
//! layout is part of SQLite's documented file format
//! (<https://sqlite.org/walformat.html>, "the wal-index header"), because
//! processes built against different SQLite versions share it:
//!
//! - bytes 0–47 and 48–95 hold two copies of the header;
//! - `iVersion` (bytes 0–3) is 3007000;
//! - `iChange` (bytes 8–11) grows by one at every commit;
//! - `isInit` (byte 12) is 1 once the header is valid;
//! - the rest (`mxFrame`, the salts, the checksums) moves with every commit
//!   and with every restart of the WAL after a checkpoint.
//!
//! A writer rewrites the second copy, then the first; a reader copies the
//! first, then the second, and trusts them only when they are equal. A
//! [`Stamp`] is that header, read the same way with one `pread` instead of
//! SQLite's file locks (`fcntl`) and mutexes: two equal stamps mean that no
//! transaction was committed in between, by anyone.
//!
//! The file stays the one SQLite uses as long as one connection of this
//! process keeps it open: a connection in WAL mode holds a shared lock on the
//! database file for its whole life, so no other process can checkpoint the
//! WAL away and delete or re-create the `-shm` file under it. The
//! [`ReadCache`](super::read_cache::ReadCache) keeps such a connection.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The size of one copy of the wal-index header.
const HEADER: usize = 48;

/// `WALINDEX_MAX_VERSION`, the format SQLite has written since 3.7.0.
const FORMAT: u32 = 3_007_000;

/// The wal-index header as one read saw it (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp([u8; HEADER]);

impl Stamp {
    /// `iChange`: how many transactions have been committed (modulo 2³²).
    fn commits(&self) -> u32 {
        u32::from_ne_bytes([self.0[8], self.0[9], self.0[10], self.0[11]])
    }

    /// Whether exactly one transaction was committed between `before` and this.
    pub(super) fn is_one_commit_after(&self, before: &Stamp) -> bool {
        self.commits() == before.commits().wrapping_add(1)
    }
}

#[cfg(test)]
impl Stamp {
    /// A stamp no ledger wrote, for the cache's own tests.
    pub(super) fn fake(n: u8) -> Self {
        Stamp([n; HEADER])
    }
}

/// The `-shm` file of a ledger, opened read-only.
#[derive(Debug)]
pub(super) struct WalStamp {
    shm: File,
}

impl WalStamp {
    /// Opens the wal-index of the (WAL-mode, already open) database at `db`.
    pub(super) fn open(db: &Path) -> std::io::Result<Self> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        Ok(Self { shm: File::open(name)? })
    }

    /// The header now, or `None` when it cannot vouch for anything: a writer
    /// is between its two copies, the header is not initialised (a recovery
    /// is running), or the file is not in the expected format. The caller
    /// then reads the tables as if nothing were known.
    pub(super) fn now(&self) -> Option<Stamp> {
        let mut both = [0u8; 2 * HEADER];
        self.shm.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        let first: [u8; HEADER] = first.try_into().ok()?;
        let version = u32::from_ne_bytes([first[0], first[1], first[2], first[3]]);
        (first == second && version == FORMAT && first[12] == 1).then_some(Stamp(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    fn db() -> (tempfile::TempDir, std::path::PathBuf, SqliteConnection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.db");
        let mut c = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("open");
        c.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);")
            .expect("schema");
        (dir, path, c)
    }

    #[test]
    fn every_commit_moves_the_stamp_and_reads_do_not() {
        let (_dir, path, mut writer) = db();
        let mut reader = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("open");
        let wal = WalStamp::open(&path).expect("the -shm file");
        let before = wal.now().expect("a valid header");
        reader.batch_execute("SELECT * FROM t; SELECT count(*) FROM t;").expect("read");
        assert_eq!(wal.now(), Some(before), "reads commit nothing");
        let mut seen = vec![before];
        for i in 0..20 {
            writer.batch_execute(&format!("INSERT INTO t VALUES ({i})")).expect("write");
            let now = wal.now().expect("a valid header");
            assert!(!seen.contains(&now), "commit {i} left the stamp where it was");
            assert!(seen.last().is_some_and(|last| now.is_one_commit_after(last)), "commit {i} counted once");
            seen.push(now);
        }
    }

    #[test]
    fn a_checkpoint_that_restarts_the_wal_still_moves_the_stamp() {
        let (_dir, path, mut writer) = db();
        let wal = WalStamp::open(&path).expect("the -shm file");
        writer.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint");
        let after_checkpoint = wal.now().expect("a valid header");
        writer.batch_execute("INSERT INTO t VALUES (2)").expect("write into a restarted WAL");
        assert_ne!(wal.now(), Some(after_checkpoint));
    }

    #[test]
    fn a_commit_by_another_process_moves_the_stamp() {
        let (_dir, path, _writer) = db();
        let wal = WalStamp::open(&path).expect("the -shm file");
        let before = wal.now().expect("a valid header");
        // The real CLI's effect is tested end to end; here, python's own SQLite.
        let status = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('INSERT INTO t VALUES (9)'); c.commit()",
            )
            .arg(&path)
            .status()
            .expect("python3 runs");
        assert!(status.success());
        assert_ne!(wal.now(), Some(before), "another process's commit shows at once");
    }

    #[test]
    fn a_torn_or_foreign_header_vouches_for_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fake.db");
        let mut header = [0u8; 2 * HEADER];
        header[..4].copy_from_slice(&FORMAT.to_ne_bytes());
        header[12] = 1;
        header.copy_within(..HEADER, HEADER);
        let shm = dir.path().join("fake.db-shm");
        std::fs::write(&shm, header).expect("write");
        assert!(WalStamp::open(&path).expect("open").now().is_some(), "equal copies vouch");
        header[HEADER + 8] = 7; // the writer has rewritten the second copy only
        std::fs::write(&shm, header).expect("write");
        assert_eq!(WalStamp::open(&path).expect("open").now(), None);
        std::fs::write(&shm, [0u8; 2 * HEADER]).expect("write");
        assert_eq!(WalStamp::open(&path).expect("open").now(), None, "not initialised");
        std::fs::write(&shm, [1u8; 10]).expect("write");
        assert_eq!(WalStamp::open(&path).expect("open").now(), None, "too short");
    }
}
