//! Session queries: the capped create, reads, listing, close, sweep and purge.

use super::rows::{NewEventRow, NewSessionRow, SessionRow};
use super::schema::{coalesce, open_session_counts, session_events, sessions};
use super::{db_error, write};
use clawdforge_domain::model::{
    Admission, AppName, AuditEvent, Caps, CloseReason, ListQuery, Session, SessionId, StatusFilter, Timestamp,
};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use diesel::result::QueryResult;

fn into_sessions(rows: Vec<SessionRow>) -> Result<Vec<Session>, LedgerError> {
    rows.into_iter().map(SessionRow::into_domain).collect()
}

/// Counts and inserts inside one IMMEDIATE transaction: SQLite's write lock is
/// taken at BEGIN, so concurrent creates queue up and each counts what the
/// previous one committed; the caps can never be overshot. The counts come
/// from `open_session_counts`, which triggers keep in the same transactions.
pub(super) fn create(
    c: &mut SqliteConnection,
    session: &Session,
    caps: Caps,
    event: &AuditEvent,
) -> Result<Admission, LedgerError> {
    let row = NewSessionRow::new(session)?;
    let event = NewEventRow::new(session.id(), event);
    write(c, |c| {
        if open_total(c)? >= i64::from(caps.max_live) {
            return Ok(Admission::PoolFull);
        }
        let of_app: Option<i64> = open_session_counts::table
            .find(session.app().as_str())
            .select(open_session_counts::n)
            .first(c)
            .optional()?;
        if of_app.unwrap_or(0) >= i64::from(caps.max_per_app) {
            return Ok(Admission::AppQuotaReached);
        }
        diesel::insert_into(sessions::table).values(&row).execute(c)?;
        diesel::insert_into(session_events::table).values(&event).execute(c)?;
        Ok(Admission::Admitted)
    })
}

pub(super) fn get(c: &mut SqliteConnection, id: &SessionId) -> Result<Option<Session>, LedgerError> {
    let row =
        sessions::table.find(id.as_str()).select(SessionRow::as_select()).first(c).optional().map_err(db_error)?;
    row.map(SessionRow::into_domain).transpose()
}

pub(super) fn list(c: &mut SqliteConnection, app: &AppName, query: &ListQuery) -> Result<Vec<Session>, LedgerError> {
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
fn open_total(c: &mut SqliteConnection) -> QueryResult<i64> {
    let per_app: Vec<i64> = open_session_counts::table.select(open_session_counts::n).load(c)?;
    Ok(per_app.iter().sum())
}

pub(super) fn count_open(c: &mut SqliteConnection) -> Result<u64, LedgerError> {
    let n = open_total(c).map_err(db_error)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) fn close(
    c: &mut SqliteConnection,
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

pub(super) fn idle(c: &mut SqliteConnection, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
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

/// Turns and events go with their session through `ON DELETE CASCADE`.
pub(super) fn purge_closed(c: &mut SqliteConnection, before: Timestamp) -> Result<Vec<Session>, LedgerError> {
    let rows = write(c, |c| {
        diesel::delete(sessions::table.filter(sessions::closed_at.lt(before.as_millis())))
            .returning(SessionRow::as_returning())
            .get_results(c)
    })?;
    into_sessions(rows)
}
