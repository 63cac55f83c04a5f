//! The native `acp` runtime through the real binary: warm agents, faults,
//! restarts, idleness, caps, files and permissions, and no process left
//! behind (checked in /proc: agents run in their session's workspace).

use crate::support::{eventually, processes_under, Instance};
use serde_json::Value;

const ACP: &str = "agent_runtime = \"acp\"";

fn text(body: &Value) -> &str {
    body["text"].as_str().unwrap_or_default()
}

/// N of the `[turn N]` the echo agent ends its reply with.
fn turn_number(body: &Value) -> u64 {
    let t = text(body);
    let n = t.rsplit("[turn ").next().and_then(|r| r.strip_suffix(']')).and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("no turn marker in {body}"))
}

fn workspaces(instance: &Instance) -> std::path::PathBuf {
    instance.dir.path().join("data/workspaces")
}

async fn no_agent_left(instance: &Instance) {
    let dir = workspaces(instance);
    eventually(10, || {
        let left = processes_under(&dir);
        async move { left.is_empty().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn acp_turns_stream_the_echo_and_the_agent_stays_warm() {
    let instance = Instance::new(ACP);
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    assert_eq!(processes_under(&workspaces(&instance)).len(), 1, "create starts the agent");
    for n in 1..=3 {
        let body = server.turn(&token, &id, &format!("hello {n}")).await.expect_status(200);
        assert_eq!(text(&body), format!("hello {n}\n[turn {n}]"));
        let events = body["events"].as_array().expect("events");
        assert!(events.iter().take(events.len() - 1).all(|e| e["method"] == "session/update" && e["jsonrpc"] == "2.0"));
        assert_eq!(events.last().and_then(|e| e.pointer("/result/stopReason")), Some(&Value::from("end_turn")));
    }
    assert_eq!(processes_under(&workspaces(&instance)).len(), 1, "one warm agent for the whole session");
    server.delete(&token, &id).await.expect_status(200);
    no_agent_left(&instance).await;
}

#[tokio::test]
async fn acp_faults_fail_the_turn_and_the_next_turn_works() {
    let instance = Instance::new(&format!("{ACP}\nturn_timeout_secs = 2\nmax_turn_output_bytes = 1048576"));
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let crash = server.turn(&token, &id, "__crash__").await.expect_status(502);
    assert!(crash["error"].as_str().is_some_and(|e| e.contains("exited")), "{crash}");
    assert!(text(&server.turn(&token, &id, "after crash").await.expect_status(200)).ends_with("[turn 1]"));
    let rpc = server.turn(&token, &id, "__rpc_error__").await.expect_status(502);
    assert!(rpc["error"].as_str().is_some_and(|e| e.contains("echo agent fault")), "{rpc}");
    let huge = server.turn(&token, &id, "__huge__").await.expect_status(502);
    assert!(huge["error"].as_str().is_some_and(|e| e.contains("max_turn_output_bytes")), "{huge}");
    let chatty = server.turn(&token, &id, "__stderr__ chatty").await.expect_status(200);
    // The flooding agent may have counted its turn before it was stopped.
    let n = turn_number(&chatty);
    assert!(text(&chatty).starts_with("__stderr__ chatty") && (2..=3).contains(&n), "{chatty}");
    server.turn(&token, &id, "__hang__").await.expect_status(504);
    server.turn(&token, &id, "__stuck__").await.expect_status(504);
    // The killed agent comes back with session/load: the conversation goes on.
    assert_eq!(turn_number(&server.turn(&token, &id, "after hang").await.expect_status(200)), n + 1);
    assert_eq!(processes_under(&workspaces(&instance)).len(), 1, "crashed and killed agents are gone");
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let failed = events["events"].as_array().expect("events").iter().filter(|e| e["event"] == "turn_failed").count();
    assert_eq!(failed, 5);
    server.delete(&token, &id).await.expect_status(200);
    no_agent_left(&instance).await;
}

#[tokio::test]
async fn acp_sessions_survive_a_gateway_restart_and_shutdown_leaves_no_agent() {
    let instance = Instance::new(ACP);
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    assert!(text(&server.turn(&token, &id, "before").await.expect_status(200)).ends_with("[turn 1]"));
    assert!(server.stop().success());
    assert!(processes_under(&workspaces(&instance)).is_empty(), "shutdown stopped the agents");
    let server = instance.start();
    assert!(text(&server.turn(&token, &id, "after").await.expect_status(200)).ends_with("[turn 2]"));
    assert!(server.stop().success());
    assert!(processes_under(&workspaces(&instance)).is_empty());
}

#[tokio::test]
async fn acp_idle_agents_stop_and_resume_or_restart_with_an_audit() {
    let instance = Instance::new(&format!("{ACP}\nagent_idle_secs = 1"));
    let server = instance.start();
    let token = server.token();
    let resumable = server.open_session(&token, "echo").await;
    let forgetful = server.open_session(&token, "forgetful").await;
    for id in [&resumable, &forgetful] {
        assert!(text(&server.turn(&token, id, "one").await.expect_status(200)).ends_with("[turn 1]"));
    }
    no_agent_left(&instance).await;
    assert!(text(&server.turn(&token, &resumable, "two").await.expect_status(200)).ends_with("[turn 2]"));
    // An agent without loadSession starts over, and the trail says so.
    assert!(text(&server.turn(&token, &forgetful, "two").await.expect_status(200)).ends_with("[turn 1]"));
    let events = server.get(&token, &format!("/sessions/{forgetful}/events")).await.expect_status(200);
    assert!(events["events"].as_array().expect("events").iter().any(|e| e["event"] == "agent_restarted"), "{events}");
    let events = server.get(&token, &format!("/sessions/{resumable}/events")).await.expect_status(200);
    assert!(!events["events"].as_array().expect("events").iter().any(|e| e["event"] == "agent_restarted"));
}

#[tokio::test]
async fn acp_permissions_and_files_follow_the_mode_and_stay_in_the_workspace() {
    let instance = Instance::new(ACP); // approve-reads
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let read = server.turn(&token, &id, "__permission__").await.expect_status(200);
    assert!(text(&read).starts_with("[permission allow]"), "{read}");
    let write = server.turn(&token, &id, "__permission_write__").await.expect_status(200);
    assert!(text(&write).starts_with("[permission reject]"), "{write}");
    let files = server.turn(&token, &id, "__files__ /etc/hostname notes.txt").await.expect_status(200);
    assert!(text(&files).starts_with("[read refused"), "{files}");
    assert!(text(&files).contains("[write refused"), "{files}");
    let events = files["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["method"] == "fs/read_text_file"), "the agent's requests are events");

    let open = Instance::new(&format!("{ACP}\npermission_mode = \"approve-all\""));
    let server = open.start();
    let token = server.token();
    let id = server.open_session(&token, "faulty").await;
    let files = server.turn(&token, &id, "__files__ missing.txt out.txt").await.expect_status(200);
    assert!(text(&files).contains("[write ok]"), "{files}");
    let written = workspaces(&open).join("default").join(&id).join("out.txt");
    assert_eq!(std::fs::read_to_string(written).expect("written in the workspace"), "written by echo\n");
    let escape =
        server.turn(&token, &id, "__files__ ../../../../clawdforge.toml ../escape.txt").await.expect_status(200);
    assert!(text(&escape).starts_with("[read refused"), "{escape}");
    assert!(text(&escape).contains("[write refused"), "{escape}");
    assert!(!workspaces(&open).join("default").join("escape.txt").exists());
    // Each refused escape is in the audit trail.
    let events = server.get(&token, &format!("/sessions/{id}/events")).await.expect_status(200);
    let refused: Vec<&Value> =
        events["events"].as_array().expect("events").iter().filter(|e| e["event"] == "access_refused").collect();
    assert_eq!(refused.len(), 2, "{events}");
    assert_eq!(refused[0]["detail"]["method"], "fs/read_text_file");
    assert_eq!(refused[1]["detail"]["method"], "fs/write_text_file");
}

#[tokio::test]
async fn acp_never_runs_more_agents_than_live_sessions_and_crashes_leave_none() {
    let instance = Instance::new(&format!("{ACP}\nmax_live_sessions = 2"));
    let server = instance.start();
    let token = server.token();
    let a = server.open_session(&token, "faulty").await;
    let b = server.open_session(&token, "faulty").await;
    server.create(&token, "faulty").await.expect_status(503);
    assert_eq!(processes_under(&workspaces(&instance)).len(), 2);
    server.turn(&token, &a, "__crash__").await.expect_status(502);
    assert_eq!(processes_under(&workspaces(&instance)).len(), 1, "the crashed agent was reaped");
    server.delete(&token, &a).await.expect_status(200);
    server.delete(&token, &b).await.expect_status(200);
    no_agent_left(&instance).await;
}

/// acpx stays one config key away: a whole session through it.
#[tokio::test]
async fn acpx_stays_available_as_a_runtime() {
    let instance = Instance::new("agent_runtime = \"acpx\"");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    for n in 1..=2 {
        let body = server.turn(&token, &id, &format!("via acpx {n}")).await.expect_status(200);
        assert_eq!(text(&body), format!("via acpx {n}\n[turn {n}]"));
    }
    server.delete(&token, &id).await.expect_status(200);
}
