//! Restarts, signals and the sweeper, on the real binary.

use crate::support::{eventually, Instance};
use reqwest::Method;

#[tokio::test]
async fn sessions_open_before_a_restart_keep_working_after_it() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    server.turn(&token, &id, "before the restart").await.expect_status(200);
    assert!(server.stop().success());

    let server = instance.start();
    assert!(server.token.is_none(), "the default app must not be created twice");
    let body = server.turn(&token, &id, "after the restart").await.expect_status(200);
    assert_eq!(body["turn_index"], 2);
    let text = body["text"].as_str().expect("text");
    assert!(text.contains("turn 2"), "agent state lost: {text}");
}

#[tokio::test]
async fn sigterm_during_a_turn_lets_it_finish_and_loses_nothing() {
    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    // `__drip__` says eight chunks 0.4 s apart: the turn is still running when seen running.
    let id = server.open_session(&token, "faulty").await;
    let (reply, ()) = tokio::join!(server.turn(&token, &id, "finish me __drip__"), async {
        eventually(20, || async {
            let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
            (view["running"] == true).then_some(())
        })
        .await;
        server.terminate();
    });
    let body = reply.expect_status(200);
    assert_eq!(body["turn_index"], 1);
    assert!(server.wait().success(), "exit status after SIGTERM");

    let server = instance.start();
    let view = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["turn_count"].as_u64(), view["status"].as_str()), (Some(1), Some("open")));
    let turns = server.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    assert_eq!(turns["turns"][0]["prompt"], "finish me __drip__");
}

#[tokio::test]
async fn idle_sessions_are_closed_by_the_sweeper_after_the_ttl() {
    let instance = Instance::new("session_ttl_secs = 1\nsweep_interval_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let view = eventually(10, || async {
        let v = server.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
        (v["status"] == "closed").then_some(v)
    })
    .await;
    assert_eq!(view["close_reason"], "ttl");
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    assert!(events["events"].as_array().expect("events").iter().any(|e| e["event"] == "sweep_close"));
    assert_eq!(server.turn(&token, &id, "late").await.expect_status(410)["code"], "gone");
    let health = server.call(Method::GET, "/healthz", None, None).await.expect_status(200);
    assert_eq!(health["live_sessions"], 0);
}

#[tokio::test]
async fn closed_sessions_are_deleted_after_the_hard_ttl() {
    let instance = Instance::new("session_hard_ttl_secs = 1\nsweep_interval_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let workspace = instance.dir.path().join("data/workspaces/default").join(&id);
    assert!(workspace.is_dir(), "the session runs in {}", workspace.display());
    server.delete(&token, &id).await.expect_status(200);
    eventually(10, || async {
        (server.get(&token, &format!("/sessions/{id}")).await.status.as_u16() == 404).then_some(())
    })
    .await;
    assert_eq!(server.get(&token, &format!("/sessions/{id}/turns")).await.status.as_u16(), 404);
    assert!(!workspace.exists(), "the working directory outlived the session");
}
