//! The one behaviour every ledger must show. Each test is an async function
//! over `Arc<dyn Ledger>`; [`ledger_contract_tests!`] turns the whole list
//! into `#[tokio::test]`s for one backend, so a new backend is proven by a
//! single macro call.

use clawdforge_domain::model::{
    Admission, AgentName, AppName, AppRecord, AuditEvent, AuditKind, Caps, CloseReason, FeedEvent, FeedKind,
    ListCursor, ListQuery, Meta, RunRecord, RunStatus, Session, SessionId, SessionState, StatusFilter, Timestamp,
    TokenHash, Turn, Usage, UsageTotals, UsageWindow,
};
use clawdforge_domain::ownership::{NodeId, NodeRecord, SessionOwner};
use clawdforge_domain::ports::Ledger;
use clawdforge_domain::LedgerError;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

/// Expands every contract test for one backend: `ledger_contract_tests!(module, factory)`,
/// where `factory` is a future of `(ledger, keep_alive)`; `keep_alive` lives as long as the test.
macro_rules! ledger_contract_tests {
    ($module:ident, $factory:expr) => {
        ledger_contract_tests!(@expand $module, $factory, [
            an_app_is_found_by_its_token_hash,
            a_taken_app_name_is_a_conflict,
            a_token_hash_that_no_app_has_finds_nothing,
            a_token_hash_in_use_is_a_conflict,
            a_revoked_app_stays_findable_but_inactive_and_revokes_once,
            replacing_a_token_retires_the_old_hash,
            a_revoked_or_unknown_app_keeps_its_token,
            apps_are_listed_by_name,
            a_created_session_reads_back_as_written,
            an_unknown_session_is_none,
            a_duplicate_session_id_is_a_conflict,
            the_create_event_is_written_with_the_session,
            a_full_pool_refuses_and_writes_nothing,
            a_full_app_quota_refuses_and_writes_nothing,
            closed_sessions_do_not_count_against_the_caps,
            creates_never_exceed_the_global_cap_under_concurrency,
            creates_never_exceed_the_app_cap_under_concurrency,
            only_open_sessions_are_counted,
            a_listing_shows_only_the_apps_own_sessions,
            a_listing_is_newest_first_with_ties_broken_by_id_descending,
            a_listing_honours_the_status_filter,
            a_listing_returns_at_most_the_limit,
            paging_with_the_cursor_yields_every_session_exactly_once,
            a_recorded_turn_updates_the_session_and_appends_its_event,
            turns_come_back_by_index_with_their_events_intact,
            a_page_of_turns_starts_after_the_given_index_and_holds_at_most_the_limit,
            a_duplicate_turn_index_is_a_conflict_and_changes_nothing,
            a_turn_for_an_unknown_session_is_refused,
            events_come_back_in_order_of_writing,
            closing_an_open_session_records_when_and_why,
            a_second_close_changes_nothing,
            closing_an_unknown_session_is_false,
            idle_sessions_count_from_the_last_turn_else_creation,
            idle_sessions_exclude_closed_sessions,
            purging_deletes_only_sessions_closed_before_the_cutoff_with_their_turns_and_events,
            runs_are_recorded,
            feed_events_come_back_after_a_seq_in_order_with_their_data_intact,
            a_taken_feed_seq_is_a_conflict_and_writes_nothing,
            the_last_feed_seq_is_zero_until_events_are_appended,
            feed_events_for_an_unknown_session_are_refused,
            purging_a_session_deletes_its_feed,
            usage_sums_the_apps_own_sessions_turns_and_runs_in_the_window,
            a_session_owner_shows_the_owner_its_last_heartbeat_and_whether_it_is_closed,
            a_claim_succeeds_only_from_the_current_owner,
            of_concurrent_claims_from_one_owner_exactly_one_wins,
        ]);
    };
    (@expand $module:ident, $factory:expr, [$($test:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let (ledger, _keep) = $factory.await;
                    $crate::ledger::contract::$test(std::sync::Arc::new(ledger)).await;
                }
            )*
        }
    };
}

type L = Arc<dyn Ledger>;

const ROOMY: Caps = Caps { max_live: 10_000, max_per_app: 10_000 };

fn app(name: &str) -> AppName {
    AppName::new(name).expect("valid app name")
}

fn sid(n: u32) -> SessionId {
    SessionId::new(format!("session-{n:010}")).expect("valid session id")
}

fn hash(s: &str) -> TokenHash {
    TokenHash::from_stored(format!("{s:0>64}"))
}

fn app_record(name: &str, token: &str) -> AppRecord {
    AppRecord { name: app(name), token_hash: hash(token), created_at: Timestamp::from_millis(1_000), revoked_at: None }
}

fn ms(n: i64) -> Timestamp {
    Timestamp::from_millis(n)
}

fn session(n: u32, owner: &str, created_ms: i64) -> Session {
    Session::open(sid(n), app(owner), AgentName::new("echo").expect("valid agent"), Meta::default(), ms(created_ms))
}

fn event(kind: AuditKind, at_ms: i64) -> AuditEvent {
    AuditEvent { kind, at: ms(at_ms), detail: json!({ "k": kind.as_str(), "at": at_ms }) }
}

fn turn(index: u32, started_ms: i64, duration_ms: u64) -> Turn {
    Turn {
        index,
        prompt: format!("prompt {index}").into(),
        files: vec!["/data/a.txt".into(), "/data/b ü.txt".into()],
        stop_reason: "end_turn".into(),
        text: format!("answer {index}"),
        events: vec![
            json!({"jsonrpc": "2.0", "method": "session/update", "params": {"n": index, "nested": [1, 2.5, null]}}),
            json!({"result": {"stopReason": "end_turn"}}),
        ],
        started_at: ms(started_ms),
        duration_ms,
        // Varied, with a gap, so every column is seen to round-trip.
        usage: Usage {
            cost_usd: Some(0.25 * f64::from(index)),
            input_tokens: Some(100 * u64::from(index)),
            output_tokens: (index % 2 == 1).then_some(7),
        },
    }
}

fn all(limit: u32) -> ListQuery {
    ListQuery { status: StatusFilter::All, limit, cursor: None }
}

async fn create(l: &L, s: &Session) {
    let got = l.create_session(s, ROOMY, &event(AuditKind::Create, s.created_at().as_millis())).await;
    assert_eq!(got, Ok(Admission::Admitted));
}

async fn close(l: &L, n: u32, at_ms: i64) -> bool {
    l.close_session(&sid(n), ms(at_ms), CloseReason::Client, &event(AuditKind::Close, at_ms)).await.expect("close")
}

fn ids(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id().clone()).collect()
}

pub(crate) async fn an_app_is_found_by_its_token_hash(l: L) {
    let a = app_record("billing", "aa");
    l.insert_app(&a).await.expect("insert");
    assert_eq!(l.app_by_token_hash(&hash("aa")).await, Ok(Some(a)));
}

pub(crate) async fn a_taken_app_name_is_a_conflict(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    let again = l.insert_app(&app_record("billing", "bb")).await;
    assert!(matches!(again, Err(LedgerError::Conflict(_))), "{again:?}");
    assert_eq!(l.app_by_token_hash(&hash("bb")).await, Ok(None));
}

pub(crate) async fn a_token_hash_that_no_app_has_finds_nothing(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    assert_eq!(l.app_by_token_hash(&hash("ab")).await, Ok(None));
}

pub(crate) async fn a_token_hash_in_use_is_a_conflict(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    l.insert_app(&app_record("support", "bb")).await.expect("insert");
    let twin = l.insert_app(&app_record("twin", "aa")).await;
    assert!(matches!(twin, Err(LedgerError::Conflict(_))), "{twin:?}");
    let stolen = l.replace_token(&app("support"), &hash("aa")).await;
    assert!(matches!(stolen, Err(LedgerError::Conflict(_))), "{stolen:?}");
    let support = l.app_by_token_hash(&hash("bb")).await.expect("lookup");
    assert_eq!(support.map(|a| a.name), Some(app("support")));
    assert_eq!(l.list_apps().await.expect("list").len(), 2);
}

pub(crate) async fn a_revoked_app_stays_findable_but_inactive_and_revokes_once(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    assert_eq!(l.revoke_app(&app("billing"), ms(5_000)).await, Ok(true));
    assert_eq!(l.revoke_app(&app("billing"), ms(6_000)).await, Ok(false));
    let found = l.app_by_token_hash(&hash("aa")).await.expect("lookup").expect("still there");
    assert_eq!(found.revoked_at, Some(ms(5_000)));
    assert!(!found.is_active());
    assert_eq!(l.revoke_app(&app("nobody"), ms(5_000)).await, Ok(false));
}

pub(crate) async fn replacing_a_token_retires_the_old_hash(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    assert_eq!(l.replace_token(&app("billing"), &hash("cc")).await, Ok(true));
    assert_eq!(l.app_by_token_hash(&hash("aa")).await, Ok(None));
    let found = l.app_by_token_hash(&hash("cc")).await.expect("lookup").expect("new hash");
    assert_eq!(found.name, app("billing"));
}

pub(crate) async fn a_revoked_or_unknown_app_keeps_its_token(l: L) {
    l.insert_app(&app_record("billing", "aa")).await.expect("insert");
    l.revoke_app(&app("billing"), ms(5_000)).await.expect("revoke");
    assert_eq!(l.replace_token(&app("billing"), &hash("cc")).await, Ok(false));
    assert_eq!(l.replace_token(&app("nobody"), &hash("cc")).await, Ok(false));
    assert!(l.app_by_token_hash(&hash("aa")).await.expect("lookup").is_some());
    assert_eq!(l.app_by_token_hash(&hash("cc")).await, Ok(None));
}

pub(crate) async fn apps_are_listed_by_name(l: L) {
    for (name, token) in [("zeta", "01"), ("alpha", "02"), ("mid", "03")] {
        l.insert_app(&app_record(name, token)).await.expect("insert");
    }
    let names: Vec<String> = l.list_apps().await.expect("list").iter().map(|a| a.name.to_string()).collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
}

pub(crate) async fn a_created_session_reads_back_as_written(l: L) {
    let meta = Meta::new(json!({"purpose": "smoke", "n": [1, 2.5, {"deep": null}], "ü": "ß"})).expect("object");
    let claude = AgentName::new("claude").expect("valid");
    let s = Session::open(sid(1), app("billing"), claude, meta, ms(1_700_000_000_123));
    create(&l, &s).await;
    assert_eq!(l.session(&sid(1)).await, Ok(Some(s)));
}

pub(crate) async fn an_unknown_session_is_none(l: L) {
    assert_eq!(l.session(&sid(404)).await, Ok(None));
}

pub(crate) async fn a_duplicate_session_id_is_a_conflict(l: L) {
    create(&l, &session(1, "billing", 10)).await;
    let again = l.create_session(&session(1, "other", 20), ROOMY, &event(AuditKind::Create, 20)).await;
    assert!(matches!(again, Err(LedgerError::Conflict(_))), "{again:?}");
    assert_eq!(l.session(&sid(1)).await.expect("get").map(|s| s.app().clone()), Some(app("billing")));
    assert_eq!(l.events(&sid(1)).await.expect("events").len(), 1);
}

pub(crate) async fn the_create_event_is_written_with_the_session(l: L) {
    create(&l, &session(1, "billing", 10)).await;
    assert_eq!(l.events(&sid(1)).await, Ok(vec![event(AuditKind::Create, 10)]));
}

pub(crate) async fn a_full_pool_refuses_and_writes_nothing(l: L) {
    let caps = Caps { max_live: 2, max_per_app: 10 };
    for (n, owner) in [(1, "a"), (2, "b")] {
        let got = l.create_session(&session(n, owner, 10), caps, &event(AuditKind::Create, 10)).await;
        assert_eq!(got, Ok(Admission::Admitted));
    }
    let third = l.create_session(&session(3, "c", 10), caps, &event(AuditKind::Create, 10)).await;
    assert_eq!(third, Ok(Admission::PoolFull));
    assert_eq!(l.session(&sid(3)).await, Ok(None));
    assert_eq!(l.events(&sid(3)).await, Ok(vec![]));
    assert_eq!(l.count_open_sessions().await, Ok(2));
}

pub(crate) async fn a_full_app_quota_refuses_and_writes_nothing(l: L) {
    let caps = Caps { max_live: 10, max_per_app: 2 };
    for n in 1..=2 {
        let got = l.create_session(&session(n, "a", 10), caps, &event(AuditKind::Create, 10)).await;
        assert_eq!(got, Ok(Admission::Admitted));
    }
    let third = l.create_session(&session(3, "a", 10), caps, &event(AuditKind::Create, 10)).await;
    assert_eq!(third, Ok(Admission::AppQuotaReached));
    assert_eq!(l.session(&sid(3)).await, Ok(None));
    let other = l.create_session(&session(4, "b", 10), caps, &event(AuditKind::Create, 10)).await;
    assert_eq!(other, Ok(Admission::Admitted), "another app still has room");
}

pub(crate) async fn closed_sessions_do_not_count_against_the_caps(l: L) {
    let caps = Caps { max_live: 1, max_per_app: 1 };
    assert_eq!(
        l.create_session(&session(1, "a", 10), caps, &event(AuditKind::Create, 10)).await,
        Ok(Admission::Admitted)
    );
    assert_eq!(
        l.create_session(&session(2, "a", 11), caps, &event(AuditKind::Create, 11)).await,
        Ok(Admission::PoolFull)
    );
    assert!(close(&l, 1, 12).await);
    assert_eq!(
        l.create_session(&session(2, "a", 13), caps, &event(AuditKind::Create, 13)).await,
        Ok(Admission::Admitted)
    );
}

async fn concurrent_creates(l: &L, caps: Caps) -> (Vec<Admission>, usize) {
    let tasks: Vec<_> = (0..64u32)
        .map(|n| {
            let l = Arc::clone(l);
            tokio::spawn(async move {
                l.create_session(&session(n, "crowd", i64::from(n)), caps, &event(AuditKind::Create, 0)).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task").expect("create"));
    }
    let rows = l.list_sessions(&app("crowd"), &all(1_000)).await.expect("list").len();
    (answers, rows)
}

pub(crate) async fn creates_never_exceed_the_global_cap_under_concurrency(l: L) {
    let (answers, rows) = concurrent_creates(&l, Caps { max_live: 10, max_per_app: 1_000 }).await;
    assert_eq!(answers.iter().filter(|a| **a == Admission::Admitted).count(), 10);
    assert_eq!(answers.iter().filter(|a| **a == Admission::PoolFull).count(), 54);
    assert_eq!(rows, 10);
    assert_eq!(l.count_open_sessions().await, Ok(10));
}

pub(crate) async fn creates_never_exceed_the_app_cap_under_concurrency(l: L) {
    let (answers, rows) = concurrent_creates(&l, Caps { max_live: 1_000, max_per_app: 10 }).await;
    assert_eq!(answers.iter().filter(|a| **a == Admission::Admitted).count(), 10);
    assert_eq!(answers.iter().filter(|a| **a == Admission::AppQuotaReached).count(), 54);
    assert_eq!(rows, 10);
}

pub(crate) async fn only_open_sessions_are_counted(l: L) {
    assert_eq!(l.count_open_sessions().await, Ok(0));
    for (n, owner) in [(1, "a"), (2, "a"), (3, "b")] {
        create(&l, &session(n, owner, 10)).await;
    }
    assert!(close(&l, 2, 20).await);
    assert_eq!(l.count_open_sessions().await, Ok(2));
}

pub(crate) async fn a_listing_shows_only_the_apps_own_sessions(l: L) {
    create(&l, &session(1, "a", 10)).await;
    create(&l, &session(2, "b", 20)).await;
    create(&l, &session(3, "a", 30)).await;
    assert_eq!(ids(&l.list_sessions(&app("a"), &all(50)).await.expect("list")), [sid(3), sid(1)]);
    assert_eq!(l.list_sessions(&app("nobody"), &all(50)).await, Ok(vec![]));
}

pub(crate) async fn a_listing_is_newest_first_with_ties_broken_by_id_descending(l: L) {
    for (n, at) in [(1, 100), (2, 300), (3, 200), (4, 200), (5, 100)] {
        create(&l, &session(n, "a", at)).await;
    }
    let listed = l.list_sessions(&app("a"), &all(50)).await.expect("list");
    assert_eq!(ids(&listed), [sid(2), sid(4), sid(3), sid(5), sid(1)]);
}

pub(crate) async fn a_listing_honours_the_status_filter(l: L) {
    for n in 1..=4 {
        create(&l, &session(n, "a", i64::from(n))).await;
    }
    assert!(close(&l, 2, 50).await);
    assert!(close(&l, 3, 50).await);
    let q = |status| ListQuery { status, limit: 50, cursor: None };
    assert_eq!(ids(&l.list_sessions(&app("a"), &q(StatusFilter::Open)).await.expect("open")), [sid(4), sid(1)]);
    assert_eq!(ids(&l.list_sessions(&app("a"), &q(StatusFilter::Closed)).await.expect("closed")), [sid(3), sid(2)]);
    assert_eq!(l.list_sessions(&app("a"), &q(StatusFilter::All)).await.expect("all").len(), 4);
}

pub(crate) async fn a_listing_returns_at_most_the_limit(l: L) {
    for n in 1..=5 {
        create(&l, &session(n, "a", i64::from(n))).await;
    }
    assert_eq!(ids(&l.list_sessions(&app("a"), &all(2)).await.expect("list")), [sid(5), sid(4)]);
}

pub(crate) async fn paging_with_the_cursor_yields_every_session_exactly_once(l: L) {
    // Several sessions share a creation time so pages split inside a tie.
    for n in 0..25u32 {
        create(&l, &session(n, "a", i64::from(n / 3))).await;
    }
    create(&l, &session(99, "b", 5)).await;
    let mut seen = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    loop {
        let q = ListQuery { status: StatusFilter::All, limit: 4, cursor: cursor.clone() };
        let page = l.list_sessions(&app("a"), &q).await.expect("page");
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        cursor = Some(ListCursor::after(last));
        seen.extend(ids(&page));
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 25);
    assert_eq!(unique.len(), 25);
    let full = ids(&l.list_sessions(&app("a"), &all(100)).await.expect("all"));
    assert_eq!(seen, full, "pages concatenate to the full listing");
}

pub(crate) async fn a_recorded_turn_updates_the_session_and_appends_its_event(l: L) {
    create(&l, &session(1, "a", 10)).await;
    l.record_turn(&sid(1), &turn(1, 100, 50), &event(AuditKind::Turn, 150)).await.expect("turn 1");
    l.record_turn(&sid(1), &turn(2, 200, 75), &event(AuditKind::Turn, 275)).await.expect("turn 2");
    let s = l.session(&sid(1)).await.expect("get").expect("exists");
    assert_eq!(s.turn_count(), 2);
    assert_eq!(s.last_turn_at(), Some(ms(275)));
    let kinds: Vec<AuditKind> = l.events(&sid(1)).await.expect("events").iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [AuditKind::Create, AuditKind::Turn, AuditKind::Turn]);
}

pub(crate) async fn turns_come_back_by_index_with_their_events_intact(l: L) {
    create(&l, &session(1, "a", 10)).await;
    create(&l, &session(2, "a", 10)).await;
    // Written out of order to show the ledger sorts by index.
    for i in [2, 1, 3] {
        l.record_turn(&sid(1), &turn(i, i64::from(i) * 100, 10), &event(AuditKind::Turn, 0)).await.expect("turn");
    }
    l.record_turn(&sid(2), &turn(1, 5, 1), &event(AuditKind::Turn, 0)).await.expect("other");
    let got = l.turns(&sid(1)).await.expect("turns");
    assert_eq!(got, vec![turn(1, 100, 10), turn(2, 200, 10), turn(3, 300, 10)]);
    assert_eq!(l.turns(&sid(404)).await, Ok(vec![]));
}

pub(crate) async fn a_page_of_turns_starts_after_the_given_index_and_holds_at_most_the_limit(l: L) {
    create(&l, &session(1, "a", 10)).await;
    create(&l, &session(2, "a", 10)).await;
    for i in 1..=5 {
        l.record_turn(&sid(1), &turn(i, i64::from(i) * 100, 10), &event(AuditKind::Turn, 0)).await.expect("turn");
    }
    l.record_turn(&sid(2), &turn(1, 5, 1), &event(AuditKind::Turn, 0)).await.expect("other");
    let index = |v: Vec<Turn>| v.iter().map(|t| t.index).collect::<Vec<_>>();
    assert_eq!(index(l.turns_page(&sid(1), 0, 2).await.expect("page")), [1, 2]);
    assert_eq!(index(l.turns_page(&sid(1), 2, 2).await.expect("page")), [3, 4]);
    assert_eq!(index(l.turns_page(&sid(1), 4, 2).await.expect("page")), [5]);
    assert_eq!(l.turns_page(&sid(1), 5, 2).await, Ok(vec![]));
    assert_eq!(l.turns_page(&sid(1), 1, 1).await, Ok(vec![turn(2, 200, 10)]));
}

pub(crate) async fn a_duplicate_turn_index_is_a_conflict_and_changes_nothing(l: L) {
    create(&l, &session(1, "a", 10)).await;
    l.record_turn(&sid(1), &turn(1, 100, 50), &event(AuditKind::Turn, 150)).await.expect("turn");
    let again = l.record_turn(&sid(1), &turn(1, 900, 50), &event(AuditKind::Turn, 950)).await;
    assert!(matches!(again, Err(LedgerError::Conflict(_))), "{again:?}");
    let s = l.session(&sid(1)).await.expect("get").expect("exists");
    assert_eq!(s.last_turn_at(), Some(ms(150)));
    assert_eq!(l.events(&sid(1)).await.expect("events").len(), 2);
    assert_eq!(l.turns(&sid(1)).await, Ok(vec![turn(1, 100, 50)]));
}

pub(crate) async fn a_turn_for_an_unknown_session_is_refused(l: L) {
    // A missing parent row is the caller's bug, not a taken key: `Unavailable`.
    let turn = l.record_turn(&sid(404), &turn(1, 0, 1), &event(AuditKind::Turn, 1)).await;
    assert!(matches!(turn, Err(LedgerError::Unavailable(_))), "{turn:?}");
    let event = l.record_event(&sid(404), &event(AuditKind::TurnFailed, 1)).await;
    assert!(matches!(event, Err(LedgerError::Unavailable(_))), "{event:?}");
    assert_eq!(l.turns(&sid(404)).await, Ok(vec![]));
    assert_eq!(l.events(&sid(404)).await, Ok(vec![]));
}

pub(crate) async fn events_come_back_in_order_of_writing(l: L) {
    create(&l, &session(1, "a", 10)).await;
    // Times deliberately out of order: the order is the writing order, not `at`.
    let written = [event(AuditKind::TurnFailed, 90), event(AuditKind::TurnFailed, 20), event(AuditKind::Turn, 50)];
    for e in &written {
        l.record_event(&sid(1), e).await.expect("event");
    }
    let mut expected = vec![event(AuditKind::Create, 10)];
    expected.extend(written);
    assert_eq!(l.events(&sid(1)).await, Ok(expected));
}

pub(crate) async fn closing_an_open_session_records_when_and_why(l: L) {
    create(&l, &session(1, "a", 10)).await;
    let closed = l.close_session(&sid(1), ms(40), CloseReason::Ttl, &event(AuditKind::SweepClose, 40)).await;
    assert_eq!(closed, Ok(true));
    let s = l.session(&sid(1)).await.expect("get").expect("exists");
    assert_eq!(s.state(), SessionState::Closed { at: ms(40), reason: CloseReason::Ttl });
    assert_eq!(l.events(&sid(1)).await.expect("events").last(), Some(&event(AuditKind::SweepClose, 40)));
}

pub(crate) async fn a_second_close_changes_nothing(l: L) {
    create(&l, &session(1, "a", 10)).await;
    assert!(close(&l, 1, 20).await);
    let second = l.close_session(&sid(1), ms(30), CloseReason::Ttl, &event(AuditKind::SweepClose, 30)).await;
    assert_eq!(second, Ok(false));
    let s = l.session(&sid(1)).await.expect("get").expect("exists");
    assert_eq!(s.state(), SessionState::Closed { at: ms(20), reason: CloseReason::Client });
    let closes = l.events(&sid(1)).await.expect("events").iter().filter(|e| e.kind != AuditKind::Create).count();
    assert_eq!(closes, 1);
}

pub(crate) async fn closing_an_unknown_session_is_false(l: L) {
    assert!(!close(&l, 404, 20).await);
    assert_eq!(l.events(&sid(404)).await, Ok(vec![]));
}

pub(crate) async fn idle_sessions_count_from_the_last_turn_else_creation(l: L) {
    create(&l, &session(1, "a", 100)).await; // never used: idle since 100
    create(&l, &session(2, "a", 100)).await; // a turn completed at 900
    create(&l, &session(3, "b", 600)).await; // never used: idle since 600
    l.record_turn(&sid(2), &turn(1, 800, 100), &event(AuditKind::Turn, 900)).await.expect("turn");
    let idle = |before| {
        let l = Arc::clone(&l);
        async move {
            let mut got = ids(&l.idle_sessions(ms(before)).await.expect("idle"));
            got.sort();
            got
        }
    };
    assert_eq!(idle(100).await, Vec::<SessionId>::new(), "strictly before");
    assert_eq!(idle(101).await, [sid(1)]);
    assert_eq!(idle(700).await, [sid(1), sid(3)]);
    assert_eq!(idle(901).await, [sid(1), sid(2), sid(3)]);
}

pub(crate) async fn idle_sessions_exclude_closed_sessions(l: L) {
    create(&l, &session(1, "a", 100)).await;
    create(&l, &session(2, "a", 100)).await;
    assert!(close(&l, 1, 150).await);
    assert_eq!(ids(&l.idle_sessions(ms(10_000)).await.expect("idle")), [sid(2)]);
}

pub(crate) async fn purging_deletes_only_sessions_closed_before_the_cutoff_with_their_turns_and_events(l: L) {
    for n in 1..=4 {
        create(&l, &session(n, "a", 10)).await;
        l.record_turn(&sid(n), &turn(1, 20, 5), &event(AuditKind::Turn, 25)).await.expect("turn");
    }
    assert!(close(&l, 1, 100).await); // closed long ago: purged
    assert!(close(&l, 2, 499).await); // just before the cutoff: purged
    assert!(close(&l, 3, 500).await); // at the cutoff: kept
                                      // 4 stays open: kept however old.
    let mut purged = ids(&l.purge_closed(ms(500)).await.expect("purge"));
    purged.sort();
    assert_eq!(purged, [sid(1), sid(2)]);
    for n in [1, 2] {
        assert_eq!(l.session(&sid(n)).await, Ok(None));
        assert_eq!(l.turns(&sid(n)).await, Ok(vec![]));
        assert_eq!(l.events(&sid(n)).await, Ok(vec![]));
    }
    for n in [3, 4] {
        assert!(l.session(&sid(n)).await.expect("get").is_some());
        assert_eq!(l.turns(&sid(n)).await.expect("turns").len(), 1);
    }
    assert_eq!(ids(&l.list_sessions(&app("a"), &all(50)).await.expect("list")), [sid(4), sid(3)]);
    assert_eq!(l.purge_closed(ms(500)).await, Ok(vec![]));
}

pub(crate) async fn runs_are_recorded(l: L) {
    let ok = RunRecord {
        app: app("a"),
        model: Some("sonnet".into()),
        status: RunStatus::Succeeded,
        stop_reason: Some("end_turn".into()),
        duration_ms: 1_234,
        usage: Usage { cost_usd: Some(0.0123), input_tokens: Some(10), output_tokens: Some(3) },
        at: ms(5_000),
    };
    let failed = RunRecord {
        model: None,
        status: RunStatus::Failed { error: "claude timed out".into() },
        stop_reason: Some("timeout".into()),
        usage: Usage::default(),
        ..ok.clone()
    };
    assert_eq!(l.record_run(&ok).await, Ok(()));
    assert_eq!(l.record_run(&failed).await, Ok(()));
    assert_eq!(l.record_run(&ok).await, Ok(()), "runs have no unique key");
}

fn feed_event(seq: u64, kind: FeedKind) -> FeedEvent {
    FeedEvent {
        seq,
        kind,
        turn_index: (kind != FeedKind::Closed).then_some(1),
        at: ms(2_000 + seq as i64),
        data: json!({"seq": seq, "text": "héllo", "nested": [1, 2.5, null, {"a": true}]}),
    }
}

pub(crate) async fn feed_events_come_back_after_a_seq_in_order_with_their_data_intact(l: L) {
    create(&l, &session(1, "a", 1_000)).await;
    create(&l, &session(2, "a", 1_000)).await;
    let first = [feed_event(1, FeedKind::TurnStarted), feed_event(2, FeedKind::Update)];
    l.append_feed(&sid(1), &first).await.expect("append");
    let second = [feed_event(3, FeedKind::Update), feed_event(4, FeedKind::Turn), feed_event(5, FeedKind::Closed)];
    l.append_feed(&sid(1), &second).await.expect("append");
    l.append_feed(&sid(2), &[feed_event(1, FeedKind::Update)]).await.expect("another session's feed");
    let all = l.feed_after(&sid(1), 0, 100).await.expect("read");
    let want: Vec<FeedEvent> = first.iter().chain(second.iter()).cloned().collect();
    assert_eq!(all, want);
    let after = l.feed_after(&sid(1), 2, 2).await.expect("read");
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert!(l.feed_after(&sid(1), 5, 100).await.expect("read").is_empty());
}

pub(crate) async fn a_taken_feed_seq_is_a_conflict_and_writes_nothing(l: L) {
    create(&l, &session(1, "a", 1_000)).await;
    l.append_feed(&sid(1), &[feed_event(1, FeedKind::Update)]).await.expect("append");
    let again = l.append_feed(&sid(1), &[feed_event(2, FeedKind::Update), feed_event(1, FeedKind::Update)]).await;
    assert!(matches!(again, Err(LedgerError::Conflict(_))), "{again:?}");
    assert_eq!(l.feed_after(&sid(1), 0, 100).await.expect("read").len(), 1);
    assert_eq!(l.last_feed_seq(&sid(1)).await.expect("last"), 1);
}

pub(crate) async fn the_last_feed_seq_is_zero_until_events_are_appended(l: L) {
    create(&l, &session(1, "a", 1_000)).await;
    assert_eq!(l.last_feed_seq(&sid(1)).await.expect("last"), 0);
    assert_eq!(l.last_feed_seq(&sid(9)).await.expect("unknown session"), 0);
    l.append_feed(&sid(1), &[feed_event(1, FeedKind::Update), feed_event(2, FeedKind::Update)]).await.expect("append");
    assert_eq!(l.last_feed_seq(&sid(1)).await.expect("last"), 2);
}

pub(crate) async fn feed_events_for_an_unknown_session_are_refused(l: L) {
    assert!(l.append_feed(&sid(9), &[feed_event(1, FeedKind::Update)]).await.is_err());
    assert!(l.feed_after(&sid(9), 0, 10).await.expect("read").is_empty());
}

pub(crate) async fn purging_a_session_deletes_its_feed(l: L) {
    create(&l, &session(1, "a", 1_000)).await;
    l.append_feed(&sid(1), &[feed_event(1, FeedKind::Update)]).await.expect("append");
    assert!(close(&l, 1, 5_000).await);
    assert_eq!(l.purge_closed(ms(6_000)).await.expect("purge").len(), 1);
    assert!(l.feed_after(&sid(1), 0, 10).await.expect("read").is_empty());
    assert_eq!(l.last_feed_seq(&sid(1)).await.expect("last"), 0);
}

pub(crate) async fn usage_sums_the_apps_own_sessions_turns_and_runs_in_the_window(l: L) {
    // App a: sessions at 1 000, 2 000 and 9 000 ms; app b: one at 2 000 ms.
    for (n, owner, at) in [(1, "a", 1_000), (2, "a", 2_000), (3, "a", 9_000), (4, "b", 2_000)] {
        create(&l, &session(n, owner, at)).await;
    }
    // Turns of a: 1 and 2 on session 1 (started 1 500, 3 000), 1 on session 3 (9 500).
    l.record_turn(&sid(1), &turn(1, 1_500, 40), &event(AuditKind::Turn, 0)).await.expect("turn");
    l.record_turn(&sid(1), &turn(2, 3_000, 60), &event(AuditKind::Turn, 0)).await.expect("turn");
    l.record_turn(&sid(3), &turn(1, 9_500, 5), &event(AuditKind::Turn, 0)).await.expect("turn");
    l.record_turn(&sid(4), &turn(3, 2_500, 999), &event(AuditKind::Turn, 0)).await.expect("b's turn");
    let run = |owner: &str, at: i64, cost: Option<f64>| RunRecord {
        app: app(owner),
        model: None,
        status: match cost {
            Some(_) => RunStatus::Succeeded,
            None => RunStatus::Failed { error: "claude exit 1".into() },
        },
        stop_reason: None,
        duration_ms: 1_000,
        usage: Usage { cost_usd: cost, input_tokens: cost.map(|_| 50), output_tokens: cost.map(|_| 5) },
        at: ms(at),
    };
    for r in [run("a", 2_500, Some(1.5)), run("a", 2_600, None), run("a", 8_000, Some(3.0)), run("b", 2_500, Some(9.0))]
    {
        l.record_run(&r).await.expect("run");
    }

    let window = |since: i64, until: Option<i64>| UsageWindow { since: ms(since), until: until.map(ms) };
    let everything = l.usage(&app("a"), window(0, None)).await.expect("usage");
    assert_eq!(
        everything,
        UsageTotals {
            sessions_created: 3,
            turns: 3,
            turn_ms: 105,
            runs: 3,
            run_ms: 3_000,
            cost_usd: 0.25 + 0.5 + 0.25 + 1.5 + 3.0,
            input_tokens: 100 + 200 + 100 + 50 + 50,
            output_tokens: 7 + 7 + 5 + 5,
        }
    );
    // [2 000, 9 000): session 2; turn 2 of session 1; the runs at 2 500 and 2 600 and 8 000.
    let middle = l.usage(&app("a"), window(2_000, Some(9_000))).await.expect("usage");
    assert_eq!(
        middle,
        UsageTotals {
            sessions_created: 1,
            turns: 1,
            turn_ms: 60,
            runs: 3,
            run_ms: 3_000,
            cost_usd: 0.5 + 1.5 + 3.0,
            input_tokens: 200 + 50 + 50,
            output_tokens: 5 + 5,
        }
    );
    let none = l.usage(&app("nobody"), window(0, None)).await.expect("usage");
    assert_eq!(none, UsageTotals::default());
    let b = l.usage(&app("b"), window(0, None)).await.expect("usage");
    assert_eq!((b.sessions_created, b.turns, b.turn_ms, b.runs, b.cost_usd), (1, 1, 999, 1, 0.75 + 9.0));
}

fn node(id: &str) -> NodeId {
    NodeId::new(id).expect("valid node id")
}

fn seen(id: &str, url: &str, at_ms: i64) -> NodeRecord {
    NodeRecord { id: node(id), url: url.to_owned(), heartbeat_at: ms(at_ms) }
}

pub(crate) async fn a_session_owner_shows_the_owner_its_last_heartbeat_and_whether_it_is_closed(l: L) {
    assert_eq!(l.session_owner(&sid(9)).await, Ok(None));
    create(&l, &session(1, "billing", 1_000)).await;
    let unowned = SessionOwner { node: None, seen: None, closed: false };
    assert_eq!(l.session_owner(&sid(1)).await, Ok(Some(unowned)));

    assert_eq!(l.claim_session(&sid(1), &node("gw-a"), None).await, Ok(true));
    let silent = SessionOwner { node: Some(node("gw-a")), seen: None, closed: false };
    assert_eq!(l.session_owner(&sid(1)).await, Ok(Some(silent)));

    l.heartbeat(&seen("gw-b", "http://10.0.0.2:8765", 4_000)).await.expect("heartbeat");
    l.heartbeat(&seen("gw-a", "http://10.0.0.1:8765", 5_000)).await.expect("heartbeat");
    l.heartbeat(&seen("gw-a", "http://10.0.0.9:8765", 6_000)).await.expect("heartbeat");
    let heard = SessionOwner {
        node: Some(node("gw-a")),
        seen: Some(seen("gw-a", "http://10.0.0.9:8765", 6_000)),
        closed: false,
    };
    assert_eq!(l.session_owner(&sid(1)).await, Ok(Some(heard.clone())));

    assert!(close(&l, 1, 7_000).await);
    assert_eq!(l.session_owner(&sid(1)).await, Ok(Some(SessionOwner { closed: true, ..heard })));
}

pub(crate) async fn a_claim_succeeds_only_from_the_current_owner(l: L) {
    create(&l, &session(1, "billing", 1_000)).await;
    assert_eq!(l.claim_session(&sid(1), &node("gw-b"), Some(node("gw-a"))).await, Ok(false));
    assert_eq!(l.claim_session(&sid(1), &node("gw-a"), None).await, Ok(true));
    assert_eq!(l.claim_session(&sid(1), &node("gw-c"), None).await, Ok(false));
    assert_eq!(l.claim_session(&sid(1), &node("gw-c"), Some(node("gw-b"))).await, Ok(false));
    assert_eq!(l.claim_session(&sid(1), &node("gw-b"), Some(node("gw-a"))).await, Ok(true));
    let owner = l.session_owner(&sid(1)).await.expect("owner").expect("session");
    assert_eq!(owner.node, Some(node("gw-b")));
    assert_eq!(l.claim_session(&sid(2), &node("gw-b"), None).await, Ok(false), "an unknown session");
}

pub(crate) async fn of_concurrent_claims_from_one_owner_exactly_one_wins(l: L) {
    for n in 0..4u32 {
        create(&l, &session(n, "billing", 1_000)).await;
        assert_eq!(l.claim_session(&sid(n), &node("dead"), None).await, Ok(true));
        let claims: Vec<_> = (0..16)
            .map(|k| {
                let l = Arc::clone(&l);
                tokio::spawn(async move {
                    let me = node(&format!("gw-{k}"));
                    (l.claim_session(&sid(n), &me, Some(node("dead"))).await.expect("claim"), me)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for c in claims {
            let (won, me) = c.await.expect("task");
            if won {
                winners.push(me);
            }
        }
        assert_eq!(winners.len(), 1, "session {n}: {winners:?}");
        let owner = l.session_owner(&sid(n)).await.expect("owner").expect("session");
        assert_eq!(owner.node.as_ref(), winners.first());
    }
}
