use super::support::{spawn_api, TestApi};
use clawdforge_domain::manual_clock::ManualClock;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["session_id"].as_str().expect("session_id").to_owned())
        .collect()
}

#[tokio::test]
async fn listing_shows_only_the_callers_sessions() {
    let api = spawn_api().await;
    let a1 = api.create_session(&api.alpha).await;
    let a2 = api.create_session(&api.alpha).await;
    let b1 = api.create_session(&api.beta).await;

    let la = api.list(&api.alpha, "").await.ok();
    assert_eq!(la["ok"], true);
    assert_eq!(la["count"], 2);
    assert_eq!(ids(&la).into_iter().collect::<HashSet<_>>(), HashSet::from([a1, a2]));

    let lb = api.list(&api.beta, "").await.ok();
    assert_eq!(lb["count"], 1);
    assert_eq!(lb["sessions"][0]["session_id"], b1.as_str());
    assert_eq!(lb["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn listing_is_newest_first_and_pages_with_next_cursor() {
    let clock = Arc::new(ManualClock::at_secs(1_700_000_000));
    let api = TestApi::builder().clock(clock.clone()).build().await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(api.create_session(&api.alpha).await);
        // Distinct creation instants, so "newest first" is the creation order reversed.
        clock.advance(Duration::from_millis(3));
    }
    created.reverse();

    let page1 = api.list(&api.alpha, "limit=2").await.ok();
    assert_eq!(page1["count"], 2);
    assert_eq!(ids(&page1), created[..2]);
    let cursor = page1["next_cursor"].as_str().expect("a next page").to_owned();

    let page2 = api.list(&api.alpha, &format!("limit=2&cursor={cursor}")).await.ok();
    assert_eq!(page2["count"], 1);
    assert_eq!(ids(&page2), created[2..]);
    assert_eq!(page2["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn listing_filters_by_status() {
    let api = spawn_api().await;
    let open = api.create_session(&api.alpha).await;
    let closed = api.create_session(&api.alpha).await;
    api.delete(&api.alpha, &closed).await.ok();
    assert_eq!(ids(&api.list(&api.alpha, "status=open").await.ok()), [open]);
    assert_eq!(ids(&api.list(&api.alpha, "status=closed").await.ok()), [closed]);
    assert_eq!(api.list(&api.alpha, "status=all").await.ok()["count"], 2);
}

#[tokio::test]
async fn a_bad_status_limit_or_cursor_is_422_naming_the_parameter() {
    let api = spawn_api().await;
    for (query, field) in [
        ("status=bogus", "status"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let r = api.list(&api.alpha, query).await;
        r.assert_error(422, "invalid_request");
        assert!(r.error().starts_with(field), "{query}: {}", r.raw);
    }
}
