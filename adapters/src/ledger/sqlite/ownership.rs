//! Nodes and session owners (the twin of `postgres/ownership.rs`). A SQLite
//! ledger serves one gateway, so nothing forwards or takes over on it; the
//! port's contract still holds, so both backends pass one suite.

use super::{db_error, write};
use crate::ledger::sqlite::schema::{nodes, sessions};
use clawdforge_domain::model::{SessionId, Timestamp};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use diesel::upsert::excluded;

pub(super) fn heartbeat(c: &mut SqliteConnection, node: &NodeRecord) -> Result<(), LedgerError> {
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

pub(super) fn owner(c: &mut SqliteConnection, id: &SessionId) -> Result<Option<SessionOwner>, LedgerError> {
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
    c: &mut SqliteConnection,
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
