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
//! A value is stored under the stamp taken *before* the read that found it:
//! a commit that lands between the two moves the stamp, so the value is
//! dropped at the next lookup instead of being trusted past a change.
//!
//! The cache is bounded: at most [`MAX_SESSIONS`] sessions in all (each page
//! counts its sessions), after which it starts afresh. Misses are not stored,
//! so unknown ids and tokens cannot fill it.

use super::wal_stamp::{Stamp, WalStamp};
use clawdforge_domain::model::{AppName, AppRecord, ListQuery, Session, SessionId, TokenHash};
use diesel::SqliteConnection;
use std::collections::HashMap;
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
    /// Empties it for `stamp` when the ledger has moved on since.
    fn at(&mut self, stamp: Stamp) -> &mut Self {
        if self.stamp != Some(stamp) {
            *self = Held { stamp: Some(stamp), ..Held::default() };
        }
        self
    }

    /// Makes room for `n` more sessions, starting afresh when full.
    fn room_for(&mut self, n: usize) -> bool {
        if n > MAX_SESSIONS {
            return false;
        }
        if self.count + n > MAX_SESSIONS {
            *self = Held { stamp: self.stamp, ..Held::default() };
        }
        self.count += n;
        true
    }
}

/// The cache (see the module's documentation).
pub(super) struct ReadCache {
    wal: WalStamp,
    held: Mutex<Held>,
    /// Keeps the ledger's `-shm` file the one `wal` reads: never used, never closed.
    _keeper: Mutex<SqliteConnection>,
}

impl ReadCache {
    /// A cache over the ledger whose wal-index `wal` reads, kept valid by
    /// `keeper`, an open connection that has read the file.
    pub(super) fn new(wal: WalStamp, keeper: SqliteConnection) -> Self {
        Self { wal, held: Mutex::new(Held::default()), _keeper: Mutex::new(keeper) }
    }

    /// The ledger's stamp now; take it before a read whose answer is to be stored.
    pub(super) fn stamp(&self) -> Option<Stamp> {
        self.wal.now()
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        // A panic while holding it left at worst a partial map of true answers.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks `f` up in what was read as of `stamp` (nothing when `None`).
    fn find<T>(&self, stamp: Option<Stamp>, f: impl FnOnce(&Held) -> Option<T>) -> Option<T> {
        f(self.held().at(stamp?))
    }

    /// Stores through `f` what a read that began after `stamp` found.
    fn store(&self, stamp: Option<Stamp>, f: impl FnOnce(&mut Held)) {
        if let Some(stamp) = stamp {
            f(self.held().at(stamp));
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
