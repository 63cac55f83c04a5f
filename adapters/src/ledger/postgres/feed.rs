//! The session feed's queries over Postgres: one text for both backends
//! (`ledger/twins.rs`), on the rows `sqlite/feed.rs` defines.

use super::{db_error, write};
use crate::ledger::sqlite::feed::{corrupt, FeedRow, NewFeedRow};
use crate::ledger::sqlite::schema::session_feed;
use clawdforge_domain::model::{FeedEvent, SessionId};
use clawdforge_domain::LedgerError;
use diesel::prelude::*;

crate::ledger::twins::feed_queries!(diesel::PgConnection);
