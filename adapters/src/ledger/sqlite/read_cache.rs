//! Point reads answered from memory while nobody has committed (issue 15).
//!
//! The cache holds what the hot reads found — the app behind a token hash,
//! a session by id, a page of an app's sessions — together with the
//! [`Stamp`] of the ledger at the time they were read. A lookup first takes
//! the stamp now (one `pread`, no lock: see [`wal_stamp`](super::wal_stamp)):
//! when it differs from the cache's, someone committed — this gateway, the
//! CLI revoking a token, a sweep in another process — and the whole cache is
//! dropped before anything is answered. So an answer from memory is always
//! the one the tables would give, a revoke or a rotate takes effect on the
//! very next request, and a run of reads with no commit in between costs no
//! SQLite transaction at all.
//!
//! A value is stored under the stamp taken *before* the read that found it,
//! and only if the cache is still at that stamp: a commit that lands between
//! the two moves the stamp, so the value is dropped at the next lookup (or
//! not kept at all) instead of being trusted past a change.
//!
//! This gateway's own writes need not empty it. A write notes the stamp
//! before it starts and after it returns; when exactly one transaction was
//! committed in between (`iChange` moved by one) and the write certainly
//! committed one, that transaction was the write's own, so the cache forgets
//! only what the write touched (a session, the pages) and moves on to the
//! new stamp. Anything else — a commit by another process in between, two
//! writes of this gateway at once, a write that failed — empties it as
//! before. While a write of its own is running, a lookup that sees a new
//! stamp reads the table without emptying the cache: the write is about to
//! bring the cache forward itself.
//!
//! The cache is bounded: at most [`MAX_SESSIONS`] sessions in all (each page
//! counts its sessions), after which it starts afresh. Misses are not stored,
//! so unknown ids and tokens cannot fill it.

use super::wal_stamp::{Stamp, WalStamp};
use clawdforge_domain::model::{AppName, AppRecord, ListQuery, Session, SessionId, TokenHash};
use diesel::SqliteConnection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// At most this many sessions are held, singles and page entries together;
/// with meta of at most 16 KiB each, a few tens of MiB at worst.
pub(super) const MAX_SESSIONS: usize = 4096;

/// What the cache holds for one stamp.
#[derive(Default)]
struct Held {
    /// The ledger as of which everything below was read; `None`: nothing is.
    stamp: Option<Stamp>,
    apps: HashMap<TokenHash, AppRecord>,
    sessions: HashMap<SessionId, Arc<Session>>,
    pages: HashMap<AppName, HashMap<ListQuery, Arc<[Session]>>>,
    /// Sessions held, in `sessions` and in `pages`.
    count: usize,
}

impl Held {
    /// Empties it for `stamp` when the ledger has moved on since, and hands
    /// back what it held, for the caller to drop once the lock is released.
    fn at(&mut self, stamp: Stamp) -> Option<Held> {
        (self.stamp != Some(stamp)).then(|| std::mem::replace(self, Held { stamp: Some(stamp), ..Held::default() }))
    }

    /// Forgets what one of the ledger's own writes changed: the session, and
    /// every page (any of them may show it).
    fn forget(&mut self, touched: &Touched) {
        if *touched == Touched::Nothing {
            return;
        }
        if let Touched::Session(id) = touched {
            self.sessions.remove(id);
        }
        self.pages.clear();
        self.count = self.sessions.len();
    }

    /// Makes room for `n` more sessions, starting afresh when full.
    fn room_for(&mut self, n: usize) -> bool {
        if n > MAX_SESSIONS {
            return false;
        }
        if self.count + n > MAX_SESSIONS {
            // Rare (a full cache between two commits): freed under the lock.
            *self = Held { stamp: self.stamp, ..Held::default() };
        }
        self.count += n;
        true
    }
}

/// What one of the ledger's own writes changed among what the cache can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Touched {
    /// Nothing the cache holds (an audit event, the feed, a run).
    Nothing,
    /// A new session: any page may now show it.
    Pages,
    /// This session (a turn, a close), and so any page showing it.
    Session(SessionId),
}

/// One of the ledger's own writes in flight (see the module's documentation).
pub(super) struct Write<'a> {
    cache: &'a ReadCache,
    before: Option<Stamp>,
    ended: bool,
}

impl Write<'_> {
    /// The write has returned: `touched` is what it changed, or `None` when
    /// it may have committed nothing (it failed, or changed no row).
    pub(super) fn end(mut self, touched: Option<Touched>) {
        self.ended = true;
        let after = self.cache.stamp();
        let mut held = self.cache.held();
        let stale = match (self.before, after, touched) {
            (Some(before), Some(now), Some(touched))
                if now.is_one_commit_after(&before) && held.stamp == Some(before) =>
            {
                held.forget(&touched);
                held.stamp = after;
                None
            }
            // Not provably this write's own commit alone: start afresh, unless
            // the cache is already at the new stamp (then what it holds is true).
            _ if held.stamp != after || after.is_none() => {
                Some(std::mem::replace(&mut *held, Held { stamp: after, ..Held::default() }))
            }
            _ => None,
        };
        // Under the lock: a lookup sees either the cache brought forward or a write still running.
        self.cache.writing.fetch_sub(1, Ordering::SeqCst);
        drop(held);
        drop(stale);
    }
}

impl Drop for Write<'_> {
    /// A write whose caller gave up never brings the cache forward: lookups empty it again.
    fn drop(&mut self) {
        if !self.ended {
            self.cache.writing.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The cache (see the module's documentation).
pub(super) struct ReadCache {
    /// `None`: the wal-index could not be opened, and nothing is ever cached.
    wal: Option<WalStamp>,
    held: Mutex<Held>,
    /// This ledger's writes in flight.
    writing: AtomicUsize,
    /// Keeps the ledger's `-shm` file the one `wal` reads: never used, never closed.
    _keeper: Mutex<SqliteConnection>,
}

impl ReadCache {
    /// A cache over the ledger whose wal-index `wal` reads, kept valid by
    /// `keeper`, an open connection that has read the file; with no `wal`, a
    /// cache that never holds anything.
    pub(super) fn new(wal: Option<WalStamp>, keeper: SqliteConnection) -> Self {
        Self { wal, held: Mutex::new(Held::default()), writing: AtomicUsize::new(0), _keeper: Mutex::new(keeper) }
    }

    /// The ledger's stamp now; take it before a read whose answer is to be stored.
    pub(super) fn stamp(&self) -> Option<Stamp> {
        self.wal.as_ref()?.now()
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        // A panic while holding it left at worst a partial map of true answers.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts one of the ledger's own writes: call [`Write::end`] when it returns.
    pub(super) fn begin_write(&self) -> Write<'_> {
        self.writing.fetch_add(1, Ordering::SeqCst);
        Write { cache: self, before: self.stamp(), ended: false }
    }

    /// Looks `f` up in what was read as of `stamp` (nothing when `None`).
    fn find<T>(&self, stamp: Option<Stamp>, f: impl FnOnce(&Held) -> Option<T>) -> Option<T> {
        let stamp = stamp?;
        let mut held = self.held();
        if held.stamp != Some(stamp) && self.writing.load(Ordering::SeqCst) > 0 {
            // Maybe a write of ours that is about to bring the cache forward: read the table.
            return None;
        }
        let stale = held.at(stamp);
        let found = f(&held);
        drop(held);
        // Up to MAX_SESSIONS of them: freed after the lock, not under it.
        drop(stale);
        found
    }

    /// Stores through `f` what a read that began after `stamp` found: only
    /// while the cache is still at `stamp` (the lookup that missed put it
    /// there). When a later commit has moved it on meanwhile, the answer is
    /// already stale and is not kept.
    fn store(&self, stamp: Option<Stamp>, f: impl FnOnce(&mut Held)) {
        let mut held = self.held();
        if stamp.is_some() && held.stamp == stamp {
            f(&mut held);
        }
    }

    /// The app holding `hash`, if known as of `stamp`.
    pub(super) fn app(&self, stamp: Option<Stamp>, hash: &TokenHash) -> Option<AppRecord> {
        self.find(stamp, |h| h.apps.get(hash).cloned())
    }

    /// Remembers the app a read begun after `stamp` found for `hash`.
    pub(super) fn put_app(&self, stamp: Option<Stamp>, hash: &TokenHash, app: &AppRecord) {
        self.store(stamp, |h| {
            h.apps.insert(hash.clone(), app.clone());
        });
    }

    /// The session `id`, if known as of `stamp`.
    pub(super) fn session(&self, stamp: Option<Stamp>, id: &SessionId) -> Option<Arc<Session>> {
        self.find(stamp, |h| h.sessions.get(id).cloned())
    }

    /// Remembers a session a read begun after `stamp` found.
    pub(super) fn put_session(&self, stamp: Option<Stamp>, session: &Session) {
        self.store(stamp, |h| {
            if h.room_for(1) {
                h.sessions.insert(session.id().clone(), Arc::new(session.clone()));
            }
        });
    }

    /// `app`'s page for `query`, if known as of `stamp`.
    pub(super) fn page(&self, stamp: Option<Stamp>, app: &AppName, query: &ListQuery) -> Option<Arc<[Session]>> {
        self.find(stamp, |h| h.pages.get(app)?.get(query).cloned())
    }

    /// Remembers a page a read begun after `stamp` found.
    pub(super) fn put_page(&self, stamp: Option<Stamp>, app: &AppName, query: &ListQuery, page: &[Session]) {
        self.store(stamp, |h| {
            if h.room_for(page.len().max(1)) {
                h.pages.entry(app.clone()).or_default().insert(query.clone(), page.into());
            }
        });
    }

    /// How many sessions it holds now.
    #[cfg(test)]
    pub(super) fn held_sessions(&self) -> usize {
        self.held().count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawdforge_domain::model::{AgentName, Meta, Timestamp};
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    fn cache() -> (tempfile::TempDir, ReadCache) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.db");
        let mut keeper = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("open");
        keeper.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (v);").expect("wal");
        let wal = WalStamp::open(&path).expect("the -shm file");
        (dir, ReadCache::new(Some(wal), keeper))
    }

    fn session(id: &str) -> Session {
        Session::open(
            SessionId::new(id).expect("valid"),
            AppName::new("app").expect("valid"),
            AgentName::new("echo").expect("valid"),
            Meta::default(),
            Timestamp::from_millis(1),
        )
    }

    #[test]
    fn an_answer_is_served_only_at_the_stamp_it_was_read_under() {
        let (_dir, c) = cache();
        let (s0, s1) = (Some(Stamp::fake(1)), Some(Stamp::fake(2)));
        let s = session("cached-session-000001");
        assert!(c.session(s0, s.id()).is_none());
        c.put_session(s0, &s);
        assert_eq!(c.session(s0, s.id()).as_deref(), Some(&s));
        assert!(c.session(s1, s.id()).is_none(), "a commit empties it");
        assert!(c.session(s0, s.id()).is_none(), "for good");
        assert!(c.session(None, s.id()).is_none(), "no stamp, no answer");
    }

    #[test]
    fn an_answer_read_before_a_commit_others_have_seen_is_not_kept() {
        let (_dir, c) = cache();
        let (s0, s1) = (Some(Stamp::fake(1)), Some(Stamp::fake(2)));
        let s = session("cached-session-000002");
        assert!(c.session(s0, s.id()).is_none(), "a miss at s0: the read starts");
        assert!(c.session(s1, s.id()).is_none(), "meanwhile another request sees a commit");
        c.put_session(s0, &s);
        assert!(c.session(s1, s.id()).is_none(), "the slow read's answer was dropped");
        assert_eq!(c.held_sessions(), 0);
    }

    #[test]
    fn without_a_wal_index_nothing_is_ever_held() {
        let (_dir, with) = cache();
        let keeper = with._keeper.into_inner().unwrap_or_else(|p| p.into_inner());
        let c = ReadCache::new(None, keeper);
        let s = session("cached-session-000003");
        let stamp = c.stamp();
        assert_eq!(stamp, None);
        c.put_session(stamp, &s);
        assert!(c.session(c.stamp(), s.id()).is_none());
        assert_eq!(c.held_sessions(), 0);
    }
}
