//! An app's totals over a window, summed by Postgres with the SQLite
//! ledger's queries (written for both).

use super::db_error;
use crate::ledger::sqlite::usage::{combine, Sums, RUNS, SESSIONS, TURNS};
use clawdforge_domain::model::{AppName, UsageTotals, UsageWindow};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

fn sums(c: &mut PgConnection, sql: &str, app: &str, since: i64, until: i64) -> QueryResult<Sums> {
    diesel::sql_query(sql).bind::<Text, _>(app).bind::<BigInt, _>(since).bind::<BigInt, _>(until).get_result(c)
}

/// The three sums in one read transaction, so they describe one moment.
pub(super) fn totals(c: &mut PgConnection, app: &AppName, w: UsageWindow) -> Result<UsageTotals, LedgerError> {
    let (since, until) = (w.since.as_millis(), w.until.map_or(i64::MAX, |u| u.as_millis()));
    let (sessions, turns, runs) = c
        .transaction(|c| {
            Ok::<_, diesel::result::Error>((
                sums(c, SESSIONS, app.as_str(), since, until)?,
                sums(c, TURNS, app.as_str(), since, until)?,
                sums(c, RUNS, app.as_str(), since, until)?,
            ))
        })
        .map_err(db_error)?;
    Ok(combine(&sessions, &turns, &runs))
}
