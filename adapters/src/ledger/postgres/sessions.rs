//! Sessions: the capped create, reads, listing, close, sweep and purge (the
//! twin of `sqlite/sessions.rs`). What differs is how the create is made
//! atomic across every gateway that shares the database.

use super::{db_error, write};
use crate::ledger::sqlite::rows::{NewEventRow, SessionRow};
use crate::ledger::sqlite::schema::{coalesce, open_session_counts, session_events, sessions};
use clawdforge_domain::model::{
    Admission, AppName, AuditEvent, Caps, CloseReason, ListQuery, Session, SessionId, StatusFilter, Timestamp,
};
use clawdforge_domain::ownership::NodeId;
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text};

fn into_sessions(rows: Vec<SessionRow>) -> Result<Vec<Session>, LedgerError> {
    rows.into_iter().map(SessionRow::into_domain).collect()
}

#[derive(QueryableByName)]
struct Verdict {
    #[diesel(sql_type = Text)]
    verdict: String,
}

/// One call of `create_session_capped` (see the `open_session_counts`
/// migration), in its own transaction: it takes a transaction-level advisory
/// lock that every create, from any gateway on this database, queues on, then
/// counts and inserts. Each statement of the function sees what the previous
/// holder committed, so the caps can never be overshot, not even by one; and
/// the lock is held for the server's own work only, never across a round trip.
/// Closes are not serialised: one that has not committed yet only makes a
/// create more careful.
///
/// This is the one query that differs from its SQLite twin (there, an
/// IMMEDIATE transaction serialises writers in-process).
pub(super) fn create(
    c: &mut PgConnection,
    session: &Session,
    caps: Caps,
    event: &AuditEvent,
    owner: Option<&NodeId>,
) -> Result<Admission, LedgerError> {
    let meta = serde_json::to_string(session.meta().as_map())
        .map_err(|e| LedgerError::Unavailable(format!("cannot encode JSON: {e}")))?;
    let verdict = sql_query(
        "SELECT create_session_capped($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) AS verdict",
    )
    .bind::<Text, _>(session.id().as_str())
    .bind::<Text, _>(session.app().as_str())
    .bind::<Text, _>(session.agent().as_str())
    .bind::<Text, _>(&meta)
    .bind::<BigInt, _>(session.created_at().as_millis())
    .bind::<Nullable<BigInt>, _>(session.last_turn_at().map(Timestamp::as_millis))
    .bind::<Nullable<BigInt>, _>(session.closed_at().map(Timestamp::as_millis))
    .bind::<Nullable<Text>, _>(session.close_reason().map(CloseReason::as_str))
    .bind::<BigInt, _>(i64::from(session.turn_count()))
    .bind::<BigInt, _>(i64::from(caps.max_live))
    .bind::<BigInt, _>(i64::from(caps.max_per_app))
    .bind::<Text, _>(event.kind.as_str())
    .bind::<BigInt, _>(event.at.as_millis())
    .bind::<Text, _>(event.detail.to_string())
    .bind::<Nullable<Text>, _>(owner.map(NodeId::as_str))
    .get_result::<Verdict>(c)
    .map_err(db_error)?;
    match verdict.verdict.as_str() {
        "admitted" => Ok(Admission::Admitted),
        "pool_full" => Ok(Admission::PoolFull),
        "app_quota" => Ok(Admission::AppQuotaReached),
        other => Err(LedgerError::Unavailable(format!("create_session_capped answered {other:?}"))),
    }
}

pub(super) fn get(c: &mut PgConnection, id: &SessionId) -> Result<Option<Session>, LedgerError> {
    let row =
        sessions::table.find(id.as_str()).select(SessionRow::as_select()).first(c).optional().map_err(db_error)?;
    row.map(SessionRow::into_domain).transpose()
}

pub(super) fn list(c: &mut PgConnection, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
    let mut q = sessions::table.filter(sessions::app.eq(app.as_str())).select(SessionRow::as_select()).into_boxed();
    q = match query.status {
        StatusFilter::Open => q.filter(sessions::closed_at.is_null()),
        StatusFilter::Closed => q.filter(sessions::closed_at.is_not_null()),
        StatusFilter::All => q,
    };
    if let Some(cursor) = &query.cursor {
        let at = cursor.created_at.as_millis();
        // `created_at <= at` bounds the index range; the rest breaks the tie on id.
        q = q.filter(
            sessions::created_at.le(at).and(sessions::created_at.lt(at).or(sessions::id.lt(cursor.id.as_str()))),
        );
    }
    let rows = q
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .limit(i64::from(query.limit))
        .load(c)
        .map_err(db_error)?;
    into_sessions(rows)
}

/// Open sessions across apps, from the trigger-kept counters (one row per app).
fn open_total(c: &mut PgConnection) -> QueryResult<i64> {
    let per_app: Vec<i64> = open_session_counts::table.select(open_session_counts::n).load(c)?;
    Ok(per_app.iter().sum())
}

pub(super) fn count_open(c: &mut PgConnection) -> Result<u64, LedgerError> {
    let n = open_total(c).map_err(db_error)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Idempotent across gateways: the row lock of the `UPDATE ... WHERE closed_at
/// IS NULL` lets exactly one of two concurrent closes (two sweepers, or a
/// sweeper and a client) change the row and write the event.
pub(super) fn close(
    c: &mut PgConnection,
    id: &SessionId,
    at: Timestamp,
    reason: CloseReason,
    event: &AuditEvent,
) -> Result<bool, LedgerError> {
    let event = NewEventRow::new(id, event);
    write(c, |c| {
        let open = sessions::table.find(id.as_str()).filter(sessions::closed_at.is_null());
        let closed = diesel::update(open)
            .set((sessions::closed_at.eq(at.as_millis()), sessions::close_reason.eq(reason.as_str())))
            .execute(c)?;
        if closed == 0 {
            return Ok(false);
        }
        diesel::insert_into(session_events::table).values(&event).execute(c)?;
        Ok(true)
    })
}

pub(super) fn idle(c: &mut PgConnection, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
    // The same expression as the partial index `sessions_open_by_activity`.
    let activity = coalesce(sessions::last_turn_at, sessions::created_at);
    let rows = sessions::table
        .filter(sessions::closed_at.is_null())
        .filter(activity.lt(before.as_millis()))
        .order((activity.asc(), sessions::id.asc()))
        .select(SessionRow::as_select())
        .load(c)
        .map_err(db_error)?;
    into_sessions(rows)
}

/// Turns and events go with their session through `ON DELETE CASCADE`. Two
/// gateways purging at once return disjoint sets: a row deleted by one is
/// skipped by the other, so each working directory is discarded once.
pub(super) fn purge_closed(c: &mut PgConnection, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
    let rows = write(c, |c| {
        diesel::delete(sessions::table.filter(sessions::closed_at.lt(before.as_millis())))
            .returning(SessionRow::as_returning())
            .get_results(c)
    })?;
    into_sessions(rows)
}
