//! The session feed's queries over Postgres (rows shared with SQLite).

use super::{db_error, write};
use crate::ledger::sqlite::feed::{corrupt, FeedRow, NewFeedRow};
use crate::ledger::sqlite::schema::session_feed;
use clawdforge_domain::model::{FeedEvent, SessionId};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;

/// All rows in one transaction: a taken `seq` (primary key) or an unknown
/// session (foreign key) writes none.
pub(super) fn append(c: &mut PgConnection, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
    let rows: Vec<NewFeedRow<'_>> = events.iter().map(|e| NewFeedRow::new(id, e)).collect();
    write(c, |c| diesel::insert_into(session_feed::table).values(&rows).execute(c)).map(drop)
}

pub(super) fn after(
    c: &mut PgConnection,
    id: &SessionId,
    after: u64,
    limit: u32,
) -> Result<Vec<FeedEvent>, LedgerError> {
    let rows = session_feed::table
        .filter(session_feed::session_id.eq(id.as_str()))
        .filter(session_feed::seq.gt(i64::try_from(after).unwrap_or(i64::MAX)))
        .order(session_feed::seq.asc())
        .limit(i64::from(limit))
        .select(FeedRow::as_select())
        .load(c)
        .map_err(db_error)?;
    rows.into_iter().map(FeedRow::into_domain).collect()
}

pub(super) fn last_seq(c: &mut PgConnection, id: &SessionId) -> Result<u64, LedgerError> {
    let last: Option<i64> = session_feed::table
        .filter(session_feed::session_id.eq(id.as_str()))
        .select(diesel::dsl::max(session_feed::seq))
        .first(c)
        .map_err(db_error)?;
    u64::try_from(last.unwrap_or(0)).map_err(corrupt)
}
