//! What happens within sessions and beside them: turns, audit events, runs
//! (the twin of `sqlite/activity.rs`).

use super::{db_error, write};
use crate::ledger::sqlite::rows::{EventRow, NewEventRow, NewRunRow, NewTurnRow, TurnRow};
use crate::ledger::sqlite::schema::{runs, session_events, sessions, turns};
use clawdforge_domain::model::{AuditEvent, RunRecord, SessionId, Turn};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;

/// The turn goes in first: a duplicate index (primary key) or an unknown
/// session (foreign key) fails there and rolls back before anything else changes.
pub(super) fn record_turn(
    c: &mut PgConnection,
    id: &SessionId,
    turn: &Turn,
    event: &AuditEvent,
) -> Result<(), LedgerError> {
    let row = NewTurnRow::new(id, turn)?;
    let event = NewEventRow::new(id, event);
    write(c, |c| {
        diesel::insert_into(turns::table).values(&row).execute(c)?;
        diesel::update(sessions::table.find(id.as_str()))
            .set((
                sessions::turn_count.eq(i64::from(turn.index)),
                sessions::last_turn_at.eq(turn.completed_at().as_millis()),
            ))
            .execute(c)?;
        diesel::insert_into(session_events::table).values(&event).execute(c)
    })
    .map(drop)
}

pub(super) fn record_event(c: &mut PgConnection, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
    let event = NewEventRow::new(id, event);
    write(c, |c| diesel::insert_into(session_events::table).values(&event).execute(c)).map(drop)
}

pub(super) fn turns(c: &mut PgConnection, id: &SessionId) -> Result<Vec<Turn>, LedgerError> {
    let rows = turns::table
        .filter(turns::session_id.eq(id.as_str()))
        .order(turns::turn_index.asc())
        .select(TurnRow::as_select())
        .load(c)
        .map_err(db_error)?;
    rows.into_iter().map(TurnRow::into_domain).collect()
}

pub(super) fn events(c: &mut PgConnection, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError> {
    let rows = session_events::table
        .filter(session_events::session_id.eq(id.as_str()))
        .order(session_events::id.asc())
        .select(EventRow::as_select())
        .load(c)
        .map_err(db_error)?;
    rows.into_iter().map(EventRow::into_domain).collect()
}

pub(super) fn record_run(c: &mut PgConnection, run: &RunRecord) -> Result<(), LedgerError> {
    let row = NewRunRow::new(run);
    write(c, |c| diesel::insert_into(runs::table).values(&row).execute(c)).map(drop)
}
