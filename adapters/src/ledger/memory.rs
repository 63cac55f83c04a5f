//! A ledger in process memory: for tests and `--ledger memory`.
//!
//! One mutex guards all state, so every port method is trivially atomic and
//! behaves like the SQLite ledger's single transaction.

use async_trait::async_trait;
use clawdforge_domain::model::{
    Admission, AppName, AppRecord, AuditEvent, Caps, CloseOutcome, CloseReason, FeedEvent, ListQuery, RunRecord,
    Session, SessionId, Timestamp, TokenHash, Turn, UsageTotals, UsageWindow,
};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::ports::Ledger;
use clawdforge_domain::LedgerError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Everything the ledger holds, kept consistent under one lock.
#[derive(Default)]
struct State {
    apps: BTreeMap<AppName, AppRecord>,
    sessions: HashMap<SessionId, Session>,
    /// Per app, every session's listing key, so pages are range scans as in SQL.
    by_app: HashMap<AppName, BTreeSet<(Timestamp, SessionId)>>,
    /// Open-session counts kept in step with `sessions`, so a capped create is O(1).
    open_total: u64,
    open_by_app: HashMap<AppName, u64>,
    turns: HashMap<SessionId, BTreeMap<u32, Turn>>,
    events: HashMap<SessionId, Vec<AuditEvent>>,
    feed: HashMap<SessionId, BTreeMap<u64, FeedEvent>>,
    runs: Vec<RunRecord>,
    /// Session owners (unowned sessions have no entry) and the nodes' heartbeats.
    owners: HashMap<SessionId, NodeId>,
    nodes: HashMap<NodeId, NodeRecord>,
}

/// The [`Ledger`] in memory; lost when dropped.
#[derive(Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, or `Unavailable` if a panic left it possibly half-written.
    fn lock(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state.lock().map_err(|_| LedgerError::Unavailable("memory ledger poisoned by an earlier panic".into()))
    }
}

fn no_session(id: &SessionId) -> LedgerError {
    // The SQLite ledger reports a missing parent row as a foreign-key failure.
    LedgerError::Unavailable(format!("no session {id}"))
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn insert_app(&self, app: &AppRecord) -> Result<(), LedgerError> {
        let mut s = self.lock()?;
        if s.apps.contains_key(&app.name) {
            return Err(LedgerError::Conflict(format!("app {} exists", app.name)));
        }
        if s.apps.values().any(|a| a.token_hash == app.token_hash) {
            return Err(LedgerError::Conflict("token hash in use".into()));
        }
        s.apps.insert(app.name.clone(), app.clone());
        Ok(())
    }

    async fn app_by_token_hash(&self, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
        Ok(self.lock()?.apps.values().find(|a| &a.token_hash == hash).cloned())
    }

    async fn list_apps(&self) -> Result<Vec<AppRecord>, LedgerError> {
        Ok(self.lock()?.apps.values().cloned().collect())
    }

    async fn revoke_app(&self, name: &AppName, at: Timestamp) -> Result<bool, LedgerError> {
        let mut s = self.lock()?;
        match s.apps.get_mut(name) {
            Some(app) if app.is_active() => {
                app.revoked_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replace_token(&self, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError> {
        let mut s = self.lock()?;
        if !s.apps.get(name).is_some_and(AppRecord::is_active) {
            return Ok(false);
        }
        if s.apps.values().any(|a| &a.name != name && &a.token_hash == hash) {
            return Err(LedgerError::Conflict("token hash in use".into()));
        }
        if let Some(app) = s.apps.get_mut(name) {
            app.token_hash = hash.clone();
        }
        Ok(true)
    }

    async fn create_session(
        &self,
        session: &Session,
        caps: Caps,
        event: &AuditEvent,
    ) -> Result<Admission, LedgerError> {
        let mut s = self.lock()?;
        if s.open_total >= u64::from(caps.max_live) {
            return Ok(Admission::PoolFull);
        }
        if s.open_by_app.get(session.app()).copied().unwrap_or(0) >= u64::from(caps.max_per_app) {
            return Ok(Admission::AppQuotaReached);
        }
        if s.sessions.contains_key(session.id()) {
            return Err(LedgerError::Conflict(format!("session {} exists", session.id())));
        }
        let id = session.id().clone();
        if session.is_open() {
            s.open_total += 1;
            *s.open_by_app.entry(session.app().clone()).or_default() += 1;
        }
        s.by_app.entry(session.app().clone()).or_default().insert((session.created_at(), id.clone()));
        s.sessions.insert(id.clone(), session.clone());
        s.events.insert(id, vec![event.clone()]);
        Ok(Admission::Admitted)
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, LedgerError> {
        Ok(self.lock()?.sessions.get(id).cloned())
    }

    async fn list_sessions(&self, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
        let s = self.lock()?;
        let Some(keys) = s.by_app.get(app) else {
            return Ok(Vec::new());
        };
        let page = keys
            .iter()
            .rev()
            .filter(|(at, id)| query.cursor.as_ref().is_none_or(|c| (*at, id) < (c.created_at, &c.id)))
            .filter_map(|(_, id)| s.sessions.get(id))
            .filter(|session| query.status.admits(session))
            .take(query.limit as usize)
            .cloned()
            .collect();
        Ok(page)
    }

    async fn count_open_sessions(&self) -> Result<u64, LedgerError> {
        Ok(self.lock()?.open_total)
    }

    async fn record_turn(&self, id: &SessionId, turn: &Turn, event: &AuditEvent) -> Result<(), LedgerError> {
        let mut s = self.lock()?;
        if !s.sessions.contains_key(id) {
            return Err(no_session(id));
        }
        let turns = s.turns.entry(id.clone()).or_default();
        if turns.contains_key(&turn.index) {
            return Err(LedgerError::Conflict(format!("turn {} of session {id} exists", turn.index)));
        }
        turns.insert(turn.index, turn.clone());
        if let Some(session) = s.sessions.get_mut(id) {
            session.record_turn(turn.index, turn.completed_at());
        }
        s.events.entry(id.clone()).or_default().push(event.clone());
        Ok(())
    }

    async fn record_event(&self, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
        let mut s = self.lock()?;
        if !s.sessions.contains_key(id) {
            return Err(no_session(id));
        }
        s.events.entry(id.clone()).or_default().push(event.clone());
        Ok(())
    }

    async fn close_session(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: CloseReason,
        event: &AuditEvent,
    ) -> Result<bool, LedgerError> {
        let mut s = self.lock()?;
        let Some(session) = s.sessions.get_mut(id) else { return Ok(false) };
        if session.close(at, reason) == CloseOutcome::AlreadyClosed {
            return Ok(false);
        }
        let app = session.app().clone();
        s.open_total = s.open_total.saturating_sub(1);
        if let Some(n) = s.open_by_app.get_mut(&app) {
            *n = n.saturating_sub(1);
        }
        s.events.entry(id.clone()).or_default().push(event.clone());
        Ok(true)
    }

    async fn turns(&self, id: &SessionId) -> Result<Vec<Turn>, LedgerError> {
        Ok(self.lock()?.turns.get(id).map(|t| t.values().cloned().collect()).unwrap_or_default())
    }

    async fn events(&self, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError> {
        Ok(self.lock()?.events.get(id).cloned().unwrap_or_default())
    }

    async fn idle_sessions(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        let s = self.lock()?;
        let mut idle: Vec<Session> =
            s.sessions.values().filter(|x| x.is_open() && x.last_activity() < before).cloned().collect();
        // Same order as the SQL ledger: longest idle first.
        idle.sort_by(|a, b| (a.last_activity(), a.id()).cmp(&(b.last_activity(), b.id())));
        Ok(idle)
    }

    async fn purge_closed(&self, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
        let mut s = self.lock()?;
        let doomed: Vec<SessionId> = s
            .sessions
            .values()
            .filter(|x| x.closed_at().is_some_and(|at| at < before))
            .map(|x| x.id().clone())
            .collect();
        let mut purged = Vec::with_capacity(doomed.len());
        for id in &doomed {
            let Some(session) = s.sessions.remove(id) else { continue };
            s.turns.remove(id);
            s.events.remove(id);
            s.feed.remove(id);
            s.owners.remove(id);
            if let Some(keys) = s.by_app.get_mut(session.app()) {
                keys.remove(&(session.created_at(), id.clone()));
            }
            purged.push(session);
        }
        Ok(purged)
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), LedgerError> {
        self.lock()?.runs.push(run.clone());
        Ok(())
    }

    async fn append_feed(&self, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
        let mut s = self.lock()?;
        if !s.sessions.contains_key(id) {
            return Err(no_session(id));
        }
        let feed = s.feed.entry(id.clone()).or_default();
        let mut seqs = BTreeSet::new();
        if let Some(e) = events.iter().find(|e| feed.contains_key(&e.seq) || !seqs.insert(e.seq)) {
            return Err(LedgerError::Conflict(format!("feed event {} of session {id} exists", e.seq)));
        }
        feed.extend(events.iter().map(|e| (e.seq, e.clone())));
        Ok(())
    }

    async fn feed_after(&self, id: &SessionId, after: u64, limit: u32) -> Result<Vec<FeedEvent>, LedgerError> {
        let s = self.lock()?;
        let Some(feed) = s.feed.get(id) else { return Ok(Vec::new()) };
        Ok(feed.range(after.saturating_add(1)..).take(limit as usize).map(|(_, e)| e.clone()).collect())
    }

    async fn last_feed_seq(&self, id: &SessionId) -> Result<u64, LedgerError> {
        Ok(self.lock()?.feed.get(id).and_then(|f| f.keys().next_back().copied()).unwrap_or(0))
    }

    async fn usage(&self, app: &AppName, window: UsageWindow) -> Result<UsageTotals, LedgerError> {
        let s = self.lock()?;
        let mut totals = UsageTotals::default();
        for (_, id) in s.by_app.get(app).into_iter().flatten() {
            let Some(session) = s.sessions.get(id) else { continue };
            if window.contains(session.created_at()) {
                totals.sessions_created += 1;
            }
            for turn in s.turns.get(id).into_iter().flat_map(BTreeMap::values) {
                if window.contains(turn.started_at) {
                    totals.turns += 1;
                    totals.turn_ms = totals.turn_ms.saturating_add(turn.duration_ms);
                    totals.add_usage(&turn.usage);
                }
            }
        }
        for run in s.runs.iter().filter(|r| &r.app == app && window.contains(r.at)) {
            totals.runs += 1;
            totals.run_ms = totals.run_ms.saturating_add(run.duration_ms);
            totals.add_usage(&run.usage);
        }
        Ok(totals)
    }

    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), LedgerError> {
        self.lock()?.nodes.insert(node.id.clone(), node.clone());
        Ok(())
    }

    async fn session_owner(&self, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
        let s = self.lock()?;
        let Some(session) = s.sessions.get(id) else { return Ok(None) };
        let node = s.owners.get(id).cloned();
        let seen = node.as_ref().and_then(|n| s.nodes.get(n)).cloned();
        Ok(Some(SessionOwner { node, seen, closed: !session.is_open() }))
    }

    async fn claim_session(&self, id: &SessionId, node: &NodeId, from: Option<NodeId>) -> Result<bool, LedgerError> {
        let mut s = self.lock()?;
        if !s.sessions.contains_key(id) || s.owners.get(id) != from.as_ref() {
            return Ok(false);
        }
        s.owners.insert(id.clone(), node.clone());
        Ok(true)
    }
}
