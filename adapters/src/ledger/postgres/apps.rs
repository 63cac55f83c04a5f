//! App queries (the twin of `sqlite/apps.rs`).

use super::{db_error, write};
use crate::ledger::sqlite::rows::AppRow;
use crate::ledger::sqlite::schema::apps;
use clawdforge_domain::model::{AppName, AppRecord, Timestamp, TokenHash};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;

pub(super) fn insert(c: &mut PgConnection, app: &AppRecord) -> Result<(), LedgerError> {
    let row = AppRow::new(app);
    write(c, |c| diesel::insert_into(apps::table).values(&row).execute(c)).map(drop)
}

pub(super) fn by_token_hash(c: &mut PgConnection, hash: &TokenHash) -> Result<Option<AppRecord>, LedgerError> {
    let row = apps::table
        .filter(apps::token_hash.eq(hash.as_str()))
        .select(AppRow::as_select())
        .first(c)
        .optional()
        .map_err(db_error)?;
    row.map(AppRow::into_domain).transpose()
}

pub(super) fn list(c: &mut PgConnection) -> Result<Vec<AppRecord>, LedgerError> {
    let rows = apps::table.order(apps::name.asc()).select(AppRow::as_select()).load(c).map_err(db_error)?;
    rows.into_iter().map(AppRow::into_domain).collect()
}

pub(super) fn revoke(c: &mut PgConnection, name: &AppName, at: Timestamp) -> Result<bool, LedgerError> {
    let active = apps::table.filter(apps::name.eq(name.as_str())).filter(apps::revoked_at.is_null());
    let n = write(c, |c| diesel::update(active).set(apps::revoked_at.eq(at.as_millis())).execute(c))?;
    Ok(n == 1)
}

pub(super) fn replace_token(c: &mut PgConnection, name: &AppName, hash: &TokenHash) -> Result<bool, LedgerError> {
    let active = apps::table.filter(apps::name.eq(name.as_str())).filter(apps::revoked_at.is_null());
    let n = write(c, |c| diesel::update(active).set(apps::token_hash.eq(hash.as_str())).execute(c))?;
    Ok(n == 1)
}
