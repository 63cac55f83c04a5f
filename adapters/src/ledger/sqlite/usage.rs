//! An app's totals over a window, summed by SQLite from the columns each
//! turn and run was recorded with.

use super::db_error;
use clawdforge_domain::model::{AppName, UsageTotals, UsageWindow};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

/// One row of sums (every sum is 0 over no rows).
#[derive(QueryableByName)]
pub(in crate::ledger) struct Sums {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    ms: i64,
    #[diesel(sql_type = Double)]
    cost: f64,
    #[diesel(sql_type = BigInt)]
    input: i64,
    #[diesel(sql_type = BigInt)]
    output: i64,
}

// Written for both ledgers: `$n` parameters and CASTs read the same in
// SQLite and Postgres (whose `sum` of a BIGINT is NUMERIC).
pub(in crate::ledger) const TURNS: &str =
    "SELECT count(*) AS n, CAST(coalesce(sum(t.duration_ms), 0) AS BIGINT) AS ms, \
     CAST(coalesce(sum(t.cost_usd), 0.0) AS DOUBLE PRECISION) AS cost, \
     CAST(coalesce(sum(t.input_tokens), 0) AS BIGINT) AS input, \
     CAST(coalesce(sum(t.output_tokens), 0) AS BIGINT) AS output \
     FROM sessions s JOIN turns t ON t.session_id = s.id \
     WHERE s.app = $1 AND t.started_at >= $2 AND t.started_at < $3";

pub(in crate::ledger) const RUNS: &str = "SELECT count(*) AS n, CAST(coalesce(sum(duration_ms), 0) AS BIGINT) AS ms, \
     CAST(coalesce(sum(cost_usd), 0.0) AS DOUBLE PRECISION) AS cost, \
     CAST(coalesce(sum(input_tokens), 0) AS BIGINT) AS input, \
     CAST(coalesce(sum(output_tokens), 0) AS BIGINT) AS output \
     FROM runs WHERE app = $1 AND at >= $2 AND at < $3";

pub(in crate::ledger) const SESSIONS: &str = "SELECT count(*) AS n, CAST(0 AS BIGINT) AS ms, \
     CAST(0.0 AS DOUBLE PRECISION) AS cost, CAST(0 AS BIGINT) AS input, CAST(0 AS BIGINT) AS output \
     FROM sessions WHERE app = $1 AND created_at >= $2 AND created_at < $3";

fn sums(c: &mut SqliteConnection, sql: &str, app: &str, since: i64, until: i64) -> QueryResult<Sums> {
    diesel::sql_query(sql).bind::<Text, _>(app).bind::<BigInt, _>(since).bind::<BigInt, _>(until).get_result(c)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The three sums in one read transaction, so they describe one moment.
pub(super) fn totals(c: &mut SqliteConnection, app: &AppName, w: UsageWindow) -> Result<UsageTotals, LedgerError> {
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

/// The totals from the three rows of sums.
pub(in crate::ledger) fn combine(sessions: &Sums, turns: &Sums, runs: &Sums) -> UsageTotals {
    UsageTotals {
        sessions_created: count(sessions.n),
        turns: count(turns.n),
        turn_ms: count(turns.ms),
        runs: count(runs.n),
        run_ms: count(runs.ms),
        cost_usd: turns.cost + runs.cost,
        input_tokens: count(turns.input).saturating_add(count(runs.input)),
        output_tokens: count(turns.output).saturating_add(count(runs.output)),
    }
}
