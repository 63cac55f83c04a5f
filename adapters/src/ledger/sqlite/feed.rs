//! The session feed's rows (shared with the Postgres ledger) and queries.

use super::schema::session_feed;
use super::{db_error, write};
use clawdforge_domain::model::{FeedEvent, FeedKind, SessionId, Timestamp};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;

pub(in crate::ledger) fn corrupt(detail: impl std::fmt::Display) -> LedgerError {
    LedgerError::Unavailable(format!("corrupt ledger row: session_feed: {detail}"))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = session_feed, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(in crate::ledger) struct FeedRow {
    seq: i64,
    kind: String,
    turn_index: Option<i64>,
    at: i64,
    data: String,
}

impl FeedRow {
    pub(in crate::ledger) fn into_domain(self) -> Result<FeedEvent, LedgerError> {
        Ok(FeedEvent {
            seq: u64::try_from(self.seq).map_err(corrupt)?,
            kind: FeedKind::parse(&self.kind).ok_or_else(|| corrupt(format!("unknown kind {:?}", self.kind)))?,
            turn_index: self.turn_index.map(u32::try_from).transpose().map_err(corrupt)?,
            at: Timestamp::from_millis(self.at),
            data: serde_json::from_str(&self.data).map_err(corrupt)?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = session_feed)]
pub(in crate::ledger) struct NewFeedRow<'a> {
    session_id: &'a str,
    seq: i64,
    kind: &'static str,
    turn_index: Option<i64>,
    at: i64,
    data: String,
}

impl<'a> NewFeedRow<'a> {
    pub(in crate::ledger) fn new(id: &'a SessionId, e: &FeedEvent) -> Self {
        Self {
            session_id: id.as_str(),
            seq: i64::try_from(e.seq).unwrap_or(i64::MAX),
            kind: e.kind.as_str(),
            turn_index: e.turn_index.map(i64::from),
            at: e.at.as_millis(),
            // A `Value` always serializes: its keys are strings by construction.
            data: e.data.to_string(),
        }
    }
}

crate::ledger::twins::feed_queries!(diesel::SqliteConnection);
