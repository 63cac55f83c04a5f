//! Queries whose text is the same on SQLite and Postgres, written once here
//! and instantiated in each backend's module for its connection type. The
//! module that expands one brings `db_error` and `write` from its parent
//! (each backend's own error mapping and write retry) and shares the row
//! types and schema of `sqlite/`, as the Postgres ledger does.

/// App queries (insert, lookup by token hash, list, revoke, rotate) over `$conn`.
macro_rules! app_queries {
    ($conn:ty) => {
        use super::{db_error, write};
        use clawdforge_domain::model::{AppName, AppRecord, Timestamp, TokenHash};
        use clawdforge_domain::LedgerError;
        use diesel::prelude::*;
        use $crate::ledger::sqlite::rows::AppRow;
        use $crate::ledger::sqlite::schema::apps;

        pub(super) fn insert(c: &mut $conn, app: &AppRecord) -> Result<(), LedgerError> {
            let row = AppRow::new(app);
            write(c, |c| diesel::insert_into(apps::table).values(&row).execute(c)).map(drop)
        }

        pub(super) fn by_token_hash(c: &mut $conn, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
            let row = apps::table
                .filter(apps::token_hash.eq(hash.as_str()))
                .select(AppRow::as_select())
                .first(c)
                .optional()
                .map_err(db_error)?;
            row.map(AppRow::into_domain).transpose()
        }

        pub(super) fn list(c: &mut $conn) -> Result<Vec<AppRecord>, LedgerError> {
            let rows = apps::table.order(apps::name.asc()).select(AppRow::as_select()).load(c).map_err(db_error)?;
            rows.into_iter().map(AppRow::into_domain).collect()
        }

        pub(super) fn revoke(c: &mut $conn, name: &AppName, at: Timestamp) -> Result<bool, LedgerError> {
            let active = apps::table.filter(apps::name.eq(name.as_str())).filter(apps::revoked_at.is_null());
            let n = write(c, |c| diesel::update(active).set(apps::revoked_at.eq(at.as_millis())).execute(c))?;
            Ok(n == 1)
        }

        pub(super) fn replace_token(c: &mut $conn, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError> {
            let active = apps::table.filter(apps::name.eq(name.as_str())).filter(apps::revoked_at.is_null());
            let n = write(c, |c| diesel::update(active).set(apps::token_hash.eq(hash.as_str())).execute(c))?;
            Ok(n == 1)
        }
    };
}

/// Nodes and session owners (heartbeat, owner, the conditional claim) over `$conn`.
macro_rules! ownership_queries {
    ($conn:ty) => {
        use super::{db_error, write};
        use clawdforge_domain::model::{SessionId, Timestamp};
        use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
        use clawdforge_domain::LedgerError;
        use diesel::prelude::*;
        use diesel::upsert::excluded;
        use $crate::ledger::sqlite::schema::{nodes, sessions};

        pub(super) fn heartbeat(c: &mut $conn, node: &NodeRecord) -> Result<(), LedgerError> {
            write(c, |c| {
                diesel::insert_into(nodes::table)
                    .values((
                        nodes::node_id.eq(node.id.as_str()),
                        nodes::advertise_url.eq(&node.url),
                        nodes::heartbeat_at.eq(node.heartbeat_at.as_millis()),
                    ))
                    .on_conflict(nodes::node_id)
                    .do_update()
                    .set((
                        nodes::advertise_url.eq(excluded(nodes::advertise_url)),
                        nodes::heartbeat_at.eq(excluded(nodes::heartbeat_at)),
                    ))
                    .execute(c)
                    .map(drop)
            })
        }

        pub(super) fn owner(c: &mut $conn, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
            let row: Option<(Option<String>, Option<i64>)> = sessions::table
                .find(id.as_str())
                .select((sessions::owner_node, sessions::closed_at))
                .first(c)
                .optional()
                .map_err(db_error)?;
            let Some((node, closed_at)) = row else { return Ok(None) };
            let node = node.and_then(|n| NodeId::new(n).ok());
            let seen = match &node {
                Some(n) => nodes::table
                    .find(n.as_str())
                    .select((nodes::advertise_url, nodes::heartbeat_at))
                    .first::<(String, i64)>(c)
                    .optional()
                    .map_err(db_error)?
                    .map(|(url, at)| NodeRecord { id: n.clone(), url, heartbeat_at: Timestamp::from_millis(at) }),
                None => None,
            };
            Ok(Some(SessionOwner { node, seen, closed: closed_at.is_some() }))
        }

        /// One conditional UPDATE: the row changes only while its owner is `from`.
        pub(super) fn claim(
            c: &mut $conn,
            id: &SessionId,
            node: &NodeId,
            from: Option<&NodeId>,
        ) -> Result<bool, LedgerError> {
            let target = sessions::table.find(id.as_str());
            let changed = match from {
                Some(from) => diesel::update(target.filter(sessions::owner_node.eq(from.as_str())))
                    .set(sessions::owner_node.eq(node.as_str()))
                    .execute(c),
                None => diesel::update(target.filter(sessions::owner_node.is_null()))
                    .set(sessions::owner_node.eq(node.as_str()))
                    .execute(c),
            }
            .map_err(db_error)?;
            Ok(changed == 1)
        }
    };
}

/// Turns, audit events and runs (record and read, turns by page) over `$conn`.
macro_rules! activity_queries {
    ($conn:ty) => {
        use super::{db_error, write};
        use clawdforge_domain::model::{AuditEvent, RunRecord, SessionId, Turn};
        use clawdforge_domain::LedgerError;
        use diesel::prelude::*;
        use $crate::ledger::sqlite::rows::{EventRow, NewEventRow, NewRunRow, NewTurnRow, TurnRow};
        use $crate::ledger::sqlite::schema::{runs, session_events, sessions, turns};

        /// The turn goes in first: a duplicate index (primary key) or an unknown
        /// session (foreign key) fails there and rolls back before anything else changes.
        pub(super) fn record_turn(
            c: &mut $conn,
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

        pub(super) fn record_event(c: &mut $conn, id: &SessionId, event: &AuditEvent) -> Result<(), LedgerError> {
            let event = NewEventRow::new(id, event);
            write(c, |c| diesel::insert_into(session_events::table).values(&event).execute(c)).map(drop)
        }

        pub(super) fn turns(c: &mut $conn, id: &SessionId) -> Result<Vec<Turn>, LedgerError> {
            let rows = turns::table
                .filter(turns::session_id.eq(id.as_str()))
                .order(turns::turn_index.asc())
                .select(TurnRow::as_select())
                .load(c)
                .map_err(db_error)?;
            rows.into_iter().map(TurnRow::into_domain).collect()
        }

        pub(super) fn turns_page(
            c: &mut $conn,
            id: &SessionId,
            after: u32,
            limit: u32,
        ) -> Result<Vec<Turn>, LedgerError> {
            let rows = turns::table
                .filter(turns::session_id.eq(id.as_str()))
                .filter(turns::turn_index.gt(i64::from(after)))
                .order(turns::turn_index.asc())
                .limit(i64::from(limit))
                .select(TurnRow::as_select())
                .load(c)
                .map_err(db_error)?;
            rows.into_iter().map(TurnRow::into_domain).collect()
        }

        pub(super) fn events(c: &mut $conn, id: &SessionId) -> Result<Vec<AuditEvent>, LedgerError> {
            let rows = session_events::table
                .filter(session_events::session_id.eq(id.as_str()))
                .order(session_events::id.asc())
                .select(EventRow::as_select())
                .load(c)
                .map_err(db_error)?;
            rows.into_iter().map(EventRow::into_domain).collect()
        }

        pub(super) fn record_run(c: &mut $conn, run: &RunRecord) -> Result<(), LedgerError> {
            let row = NewRunRow::new(run);
            write(c, |c| diesel::insert_into(runs::table).values(&row).execute(c)).map(drop)
        }
    };
}

/// The session feed (append, read after a `seq`, the last `seq`) over `$conn`.
/// The feed's row types live beside the SQLite queries, so this one brings
/// no imports: its call sites have `FeedRow`, `NewFeedRow`, `corrupt`,
/// `session_feed`, `db_error` and `write` in scope.
macro_rules! feed_queries {
    ($conn:ty) => {
        /// All rows in one transaction: a taken `seq` (primary key) or an unknown
        /// session (foreign key) writes none.
        pub(super) fn append(c: &mut $conn, id: &SessionId, events: &[FeedEvent]) -> Result<(), LedgerError> {
            let rows: Vec<NewFeedRow<'_>> = events.iter().map(|e| NewFeedRow::new(id, e)).collect();
            write(c, |c| diesel::insert_into(session_feed::table).values(&rows).execute(c)).map(drop)
        }

        pub(super) fn after(
            c: &mut $conn,
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

        pub(super) fn last_seq(c: &mut $conn, id: &SessionId) -> Result<u64, LedgerError> {
            let last: Option<i64> = session_feed::table
                .filter(session_feed::session_id.eq(id.as_str()))
                .select(diesel::dsl::max(session_feed::seq))
                .first(c)
                .map_err(db_error)?;
            u64::try_from(last.unwrap_or(0)).map_err(corrupt)
        }
    };
}

pub(crate) use activity_queries;
pub(crate) use app_queries;
pub(crate) use feed_queries;
pub(crate) use ownership_queries;
