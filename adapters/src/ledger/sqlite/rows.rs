//! Diesel row types and their translation to and from the domain's types.
//! They stay private to the adapter: the core never sees a column.

use super::schema::{apps, runs, session_events, sessions, turns};
use clawdforge_domain::model::{
    AgentName, AppName, AppRecord, AuditEvent, AuditKind, CloseReason, Meta, RunRecord, Session, SessionId, Timestamp,
    TokenHash, Turn, Usage,
};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A stored value the domain refuses: the file was edited or is corrupt.
fn corrupt(what: &str, detail: impl std::fmt::Display) -> LedgerError {
    LedgerError::Unavailable(format!("corrupt ledger row: {what}: {detail}"))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, LedgerError> {
    serde_json::to_string(value).map_err(|e| LedgerError::Unavailable(format!("cannot encode JSON: {e}")))
}

fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, LedgerError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// Durations and counts are unsigned in the domain and signed in SQLite;
/// anything past `i64::MAX` ms is not a real duration, so saturate.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(what: &str, n: i64) -> Result<u64, LedgerError> {
    u64::try_from(n).map_err(|e| corrupt(what, e))
}

fn to_u32(what: &str, n: i64) -> Result<u32, LedgerError> {
    u32::try_from(n).map_err(|e| corrupt(what, e))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = apps, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(in crate::ledger) struct AppRow {
    name: String,
    token_hash: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl AppRow {
    pub(in crate::ledger) fn new(app: &AppRecord) -> Self {
        Self {
            name: app.name.to_string(),
            token_hash: app.token_hash.as_str().to_owned(),
            created_at: app.created_at.as_millis(),
            revoked_at: app.revoked_at.map(Timestamp::as_millis),
        }
    }

    pub(in crate::ledger) fn into_domain(self) -> Result<AppRecord, LedgerError> {
        Ok(AppRecord {
            name: AppName::new(self.name).map_err(|e| corrupt("apps.name", e))?,
            token_hash: TokenHash::from_stored(self.token_hash),
            created_at: Timestamp::from_millis(self.created_at),
            revoked_at: self.revoked_at.map(Timestamp::from_millis),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(in crate::ledger) struct SessionRow {
    id: String,
    app: String,
    agent: String,
    meta: String,
    created_at: i64,
    last_turn_at: Option<i64>,
    closed_at: Option<i64>,
    close_reason: Option<String>,
    turn_count: i64,
}

impl SessionRow {
    pub(in crate::ledger) fn into_domain(self) -> Result<Session, LedgerError> {
        let closed = match (self.closed_at, self.close_reason) {
            (None, _) => None,
            (Some(at), reason) => {
                let reason = reason.as_deref().and_then(CloseReason::parse);
                Some((Timestamp::from_millis(at), reason.ok_or_else(|| corrupt("sessions.close_reason", &self.id))?))
            }
        };
        let mut session = Session::open(
            SessionId::new(self.id).map_err(|e| corrupt("sessions.id", e))?,
            AppName::new(self.app).map_err(|e| corrupt("sessions.app", e))?,
            AgentName::new(self.agent).map_err(|e| corrupt("sessions.agent", e))?,
            Meta::from_stored(from_json("sessions.meta", &self.meta)?),
            Timestamp::from_millis(self.created_at),
        )
        .with_turns(to_u32("sessions.turn_count", self.turn_count)?, self.last_turn_at.map(Timestamp::from_millis));
        if let Some((at, reason)) = closed {
            session.close(at, reason);
        }
        Ok(session)
    }
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub(in crate::ledger) struct NewSessionRow<'a> {
    id: &'a str,
    app: &'a str,
    agent: &'a str,
    meta: String,
    created_at: i64,
    last_turn_at: Option<i64>,
    closed_at: Option<i64>,
    close_reason: Option<&'static str>,
    turn_count: i64,
}

impl<'a> NewSessionRow<'a> {
    pub(in crate::ledger) fn new(s: &'a Session) -> Result<Self, LedgerError> {
        Ok(Self {
            id: s.id().as_str(),
            app: s.app().as_str(),
            agent: s.agent().as_str(),
            meta: to_json(s.meta().as_map())?,
            created_at: s.created_at().as_millis(),
            last_turn_at: s.last_turn_at().map(Timestamp::as_millis),
            closed_at: s.closed_at().map(Timestamp::as_millis),
            close_reason: s.close_reason().map(CloseReason::as_str),
            turn_count: i64::from(s.turn_count()),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = turns, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(in crate::ledger) struct TurnRow {
    turn_index: i64,
    prompt: String,
    files: String,
    stop_reason: String,
    text: String,
    events: String,
    started_at: i64,
    duration_ms: i64,
    cost_usd: Option<f64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
}

impl TurnRow {
    pub(in crate::ledger) fn into_domain(self) -> Result<Turn, LedgerError> {
        Ok(Turn {
            index: to_u32("turns.turn_index", self.turn_index)?,
            prompt: self.prompt.into(),
            files: from_json("turns.files", &self.files)?,
            stop_reason: self.stop_reason,
            text: self.text,
            events: from_json("turns.events", &self.events)?,
            started_at: Timestamp::from_millis(self.started_at),
            duration_ms: to_u64("turns.duration_ms", self.duration_ms)?,
            usage: Usage {
                cost_usd: self.cost_usd,
                input_tokens: self.input_tokens.map(|n| to_u64("turns.input_tokens", n)).transpose()?,
                output_tokens: self.output_tokens.map(|n| to_u64("turns.output_tokens", n)).transpose()?,
            },
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = turns)]
pub(in crate::ledger) struct NewTurnRow<'a> {
    session_id: &'a str,
    turn_index: i64,
    prompt: &'a str,
    files: String,
    stop_reason: &'a str,
    text: &'a str,
    events: String,
    started_at: i64,
    duration_ms: i64,
    cost_usd: Option<f64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
}

impl<'a> NewTurnRow<'a> {
    pub(in crate::ledger) fn new(id: &'a SessionId, t: &'a Turn) -> Result<Self, LedgerError> {
        Ok(Self {
            session_id: id.as_str(),
            turn_index: i64::from(t.index),
            prompt: t.prompt.expose(),
            files: to_json(&t.files)?,
            stop_reason: &t.stop_reason,
            text: &t.text,
            events: to_json(&t.events)?,
            started_at: t.started_at.as_millis(),
            duration_ms: to_i64(t.duration_ms),
            cost_usd: t.usage.cost_usd,
            input_tokens: t.usage.input_tokens.map(to_i64),
            output_tokens: t.usage.output_tokens.map(to_i64),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = session_events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(in crate::ledger) struct EventRow {
    event: String,
    at: i64,
    detail: String,
}

impl EventRow {
    pub(in crate::ledger) fn into_domain(self) -> Result<AuditEvent, LedgerError> {
        Ok(AuditEvent {
            kind: AuditKind::parse(&self.event).ok_or_else(|| corrupt("session_events.event", &self.event))?,
            at: Timestamp::from_millis(self.at),
            detail: from_json("session_events.detail", &self.detail)?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = session_events)]
pub(in crate::ledger) struct NewEventRow<'a> {
    session_id: &'a str,
    event: &'static str,
    at: i64,
    detail: String,
}

impl<'a> NewEventRow<'a> {
    pub(in crate::ledger) fn new(id: &'a SessionId, e: &AuditEvent) -> Self {
        // A `Value` always serializes: its keys are strings by construction.
        Self { session_id: id.as_str(), event: e.kind.as_str(), at: e.at.as_millis(), detail: e.detail.to_string() }
    }
}

#[derive(Insertable)]
#[diesel(table_name = runs)]
pub(in crate::ledger) struct NewRunRow<'a> {
    app: &'a str,
    model: Option<&'a str>,
    ok: bool,
    stop_reason: Option<&'a str>,
    duration_ms: i64,
    error: Option<&'a str>,
    cost_usd: Option<f64>,
    at: i64,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
}

impl<'a> NewRunRow<'a> {
    pub(in crate::ledger) fn new(r: &'a RunRecord) -> Self {
        Self {
            app: r.app.as_str(),
            model: r.model.as_deref(),
            ok: r.status.is_ok(),
            stop_reason: r.stop_reason.as_deref(),
            duration_ms: to_i64(r.duration_ms),
            error: r.status.error(),
            cost_usd: r.usage.cost_usd,
            at: r.at.as_millis(),
            input_tokens: r.usage.input_tokens.map(to_i64),
            output_tokens: r.usage.output_tokens.map(to_i64),
        }
    }
}
