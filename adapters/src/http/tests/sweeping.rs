use super::support::TestApi;
use clawdforge_domain::manual_clock::ManualClock;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_sweeper_closes_an_idle_session_with_reason_ttl_and_audits_it() {
    let clock = Arc::new(ManualClock::at_secs(1_700_000_000));
    let api = TestApi::builder().clock(clock.clone()).policy(|p| p.session_ttl = Duration::ZERO).build().await;
    let sid = api.create_session(&api.alpha).await;
    clock.advance(Duration::from_millis(5));

    let report = api.sessions.sweep_once().await.expect("sweep");
    assert_eq!(report.soft_closed, 1);

    let view = api.get(&api.alpha, &sid).await.ok();
    assert_eq!(view["status"], "closed");
    assert_eq!(view["close_reason"], "ttl");
    assert!(view["closed_at"].is_i64());
    let events = api.events(&api.alpha, &sid).await.ok();
    let kinds: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(kinds.contains(&"create") && kinds.contains(&"sweep_close"), "{kinds:?}");
}

#[tokio::test]
async fn the_sweeper_deletes_a_long_closed_session_which_is_then_404() {
    let clock = Arc::new(ManualClock::at_secs(1_700_000_000));
    let api = TestApi::builder().clock(clock.clone()).policy(|p| p.session_hard_ttl = Duration::ZERO).build().await;
    let sid = api.create_session(&api.alpha).await;
    api.delete(&api.alpha, &sid).await.ok();
    clock.advance(Duration::from_millis(5));

    let report = api.sessions.sweep_once().await.expect("sweep");
    assert_eq!(report.hard_deleted, 1);
    api.get(&api.alpha, &sid).await.assert_error(404, "not_found");
}
