use crate::support::{app, CountingIds, TestClock};
use clawdforge_domain::model::{ApiToken, AppRecord, Timestamp, TokenHash, UsageTotals, UsageWindow};
use clawdforge_domain::ports::MockLedger;
use clawdforge_domain::{Apps, Error, LedgerError};
use std::sync::Arc;

fn apps(ledger: MockLedger) -> Apps {
    Apps::new(Arc::new(ledger), Arc::new(TestClock::at_secs(1_700_000_000)), Arc::new(CountingIds::default()))
}

fn record(name: &str, token: &str, revoked: bool) -> AppRecord {
    AppRecord {
        name: app(name),
        token_hash: ApiToken::new(token).hash(),
        created_at: Timestamp::from_secs(1),
        revoked_at: revoked.then(|| Timestamp::from_secs(2)),
    }
}

#[tokio::test]
async fn a_token_authenticates_its_active_app_by_hash() {
    let mut ledger = MockLedger::new();
    ledger
        .expect_app_by_token_hash()
        .withf(|h| h == &ApiToken::new("tok").hash())
        .returning(|_| Ok(Some(record("a", "tok", false))));
    assert_eq!(apps(ledger).authenticate(&ApiToken::new("tok")).await, Ok(app("a")));
}

#[tokio::test]
async fn a_revoked_or_unknown_token_is_unauthorized() {
    let mut ledger = MockLedger::new();
    ledger
        .expect_app_by_token_hash()
        .returning(|h| Ok((h == &ApiToken::new("old").hash()).then(|| record("a", "old", true))));
    let a = apps(ledger);
    assert_eq!(a.authenticate(&ApiToken::new("old")).await, Err(Error::Unauthorized));
    assert_eq!(a.authenticate(&ApiToken::new("nope")).await, Err(Error::Unauthorized));
}

#[tokio::test]
async fn a_store_that_returns_the_wrong_hash_does_not_authenticate() {
    let mut ledger = MockLedger::new();
    ledger
        .expect_app_by_token_hash()
        .returning(|_| Ok(Some(AppRecord { token_hash: TokenHash::from_stored("00"), ..record("a", "x", false) })));
    assert_eq!(apps(ledger).authenticate(&ApiToken::new("tok")).await, Err(Error::Unauthorized));
}

#[tokio::test]
async fn adding_an_app_stores_only_the_hash_of_the_token_it_returns() {
    let stored = Arc::new(std::sync::Mutex::new(None));
    let keep = stored.clone();
    let mut ledger = MockLedger::new();
    ledger.expect_insert_app().returning(move |r| {
        *keep.lock().expect("lock") = Some(r.clone());
        Ok(())
    });
    let (name, token) = apps(ledger).add("billing").await.expect("added");
    let rec = stored.lock().expect("lock").clone().expect("stored");
    assert_eq!(name, app("billing"));
    assert_eq!(rec.token_hash, token.hash());
    assert_ne!(rec.token_hash.as_str(), token.expose());
}

#[tokio::test]
async fn a_taken_or_bad_name_is_refused() {
    let mut ledger = MockLedger::new();
    ledger.expect_insert_app().returning(|_| Err(LedgerError::Conflict("apps.name".into())));
    let a = apps(ledger);
    assert_eq!(a.add("billing").await.map(|_| ()), Err(Error::AppExists("billing".into())));
    assert!(matches!(a.add("no spaces").await, Err(Error::Invalid { .. })));
}

#[tokio::test]
async fn revoking_or_rotating_an_unknown_app_says_so() {
    let mut ledger = MockLedger::new();
    ledger.expect_revoke_app().returning(|_, _| Ok(false));
    ledger.expect_replace_token().returning(|_, _| Ok(false));
    let a = apps(ledger);
    assert_eq!(a.revoke("ghost").await, Err(Error::UnknownApp("ghost".into())));
    assert_eq!(a.rotate("ghost").await.map(|_| ()), Err(Error::UnknownApp("ghost".into())));
}

#[tokio::test]
async fn rotating_stores_the_new_tokens_hash() {
    let mut ledger = MockLedger::new();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    ledger.expect_replace_token().returning(move |_, h| {
        *keep.lock().expect("lock") = Some(h.clone());
        Ok(true)
    });
    let token = apps(ledger).rotate("a").await.expect("rotated");
    assert_eq!(seen.lock().expect("lock").clone(), Some(token.hash()));
}

#[tokio::test]
async fn the_default_app_is_created_only_on_an_empty_ledger() {
    let mut empty = MockLedger::new();
    empty.expect_list_apps().returning(|| Ok(vec![]));
    empty.expect_insert_app().withf(|r| r.name == app("default")).times(1).returning(|_| Ok(()));
    assert!(apps(empty).ensure_default().await.expect("ok").is_some());

    let mut used = MockLedger::new();
    used.expect_list_apps().returning(|| Ok(vec![record("a", "t", false)]));
    used.expect_insert_app().never();
    assert!(apps(used).ensure_default().await.expect("ok").is_none());
}

#[tokio::test]
async fn usage_asks_the_ledger_for_the_callers_window_in_milliseconds() {
    let mut ledger = MockLedger::new();
    ledger
        .expect_usage()
        .withf(|a, w| {
            a == &app("a")
                && *w == UsageWindow { since: Timestamp::from_secs(10), until: Some(Timestamp::from_secs(20)) }
        })
        .times(1)
        .returning(|_, _| Ok(UsageTotals { turns: 2, ..UsageTotals::default() }));
    ledger
        .expect_usage()
        .withf(|_, w| *w == UsageWindow { since: Timestamp::from_secs(0), until: None })
        .times(1)
        .returning(|_, _| Ok(UsageTotals::default()));
    let apps = apps(ledger);
    assert_eq!(apps.usage(&app("a"), Some(10), Some(20)).await.map(|t| t.turns), Ok(2));
    assert_eq!(apps.usage(&app("a"), None, None).await, Ok(UsageTotals::default()));
}

#[tokio::test]
async fn a_window_that_ends_before_it_starts_is_empty_and_one_that_overflows_is_refused() {
    // The mock ledger expects no call: an empty window is answered without one.
    let apps = apps(MockLedger::new());
    for (since, until) in [(20, 10), (10, 10)] {
        let totals = apps.usage(&app("a"), Some(since), Some(until)).await.expect("an empty window");
        assert_eq!(totals, UsageTotals::default(), "{since}..{until}");
    }
    assert!(
        matches!(apps.usage(&app("a"), Some(u64::MAX), None).await, Err(Error::Invalid { field, .. }) if field == "since")
    );
    assert!(
        matches!(apps.usage(&app("a"), None, Some(u64::MAX)).await, Err(Error::Invalid { field, .. }) if field == "until")
    );
}
