//! A client SDK generated from `openapi.yaml` by a real generator
//! (openapi-python-client, installed by `scripts/test`) drives a session
//! against the live server.

use crate::support::{last_line, node_tool, root, venv_tool, Instance};
use serde_json::Value;
use std::process::Command;

#[tokio::test]
async fn a_generated_python_client_runs_a_whole_session() {
    let generator = venv_tool("openapi-python-client");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let client_dir = out_dir.path().join("client");
    let generated = Command::new(&generator)
        .args(["generate", "--path"])
        .arg(root().join("openapi.yaml"))
        .arg("--output-path")
        .arg(&client_dir)
        .output()
        .expect("run the generator");
    assert!(generated.status.success(), "generation failed: {}", String::from_utf8_lossy(&generated.stderr));

    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(venv_tool("python"))
            .arg(root().join("app/tests/fixtures/sdk_round_trip.py"))
            .arg(&server.base)
            .arg(&token)
            .env("PYTHONPATH", &client_dir)
            .output()
            .map(|o| (o, server))
    })
    .await
    .expect("join")
    .expect("run python");
    let (out, _server) = run;
    assert!(out.status.success(), "the generated client failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(&last_line(&out.stdout)).expect("json line");
    assert!(seen["texts"][0].as_str().is_some_and(|t| t.contains("hello from python 1")), "{seen}");
    assert!(seen["texts"][1].as_str().is_some_and(|t| t.contains("turn 2")), "{seen}");
    assert_eq!(seen["turn_count"], 2);
    assert_eq!(seen["turns"], 2);
    assert_eq!(seen["listed"][0], seen["session_id"]);
    assert_eq!(seen["already_closed"], serde_json::json!([false, true]));
    assert_eq!(seen["after_close_code"], "gone");
}

#[tokio::test]
async fn a_generated_typescript_client_runs_a_whole_session_and_reads_typed_errors() {
    for tool in ["openapi-ts", "tsc", "tsx"] {
        node_tool(tool);
    }
    // Inside the project, so that the generated code resolves the project's node_modules.
    let work = tempfile::Builder::new().prefix("ts-sdk-").tempdir_in(root().join("target")).expect("tempdir");
    for file in ["sdk_round_trip.ts", "tsconfig.json"] {
        std::fs::copy(root().join("app/tests/fixtures/ts").join(file), work.path().join(file)).expect("copy fixture");
    }
    let generated = Command::new(node_tool("openapi-ts"))
        .arg("-i")
        .arg(root().join("openapi.yaml"))
        .arg("-o")
        .arg(work.path().join("client"))
        .output()
        .expect("run openapi-ts");
    assert!(generated.status.success(), "generation failed: {}", String::from_utf8_lossy(&generated.stderr));
    let checked = Command::new(node_tool("tsc")).arg("-p").arg(work.path()).output().expect("run tsc");
    assert!(checked.status.success(), "the client does not type-check:\n{}", String::from_utf8_lossy(&checked.stdout));

    let instance = Instance::new("");
    let server = instance.start();
    let token = server.token();
    let script = work.path().join("sdk_round_trip.ts");
    let run = tokio::task::spawn_blocking(move || {
        Command::new(node_tool("tsx")).arg(&script).arg(&server.base).arg(&token).output().map(|o| (o, server))
    })
    .await
    .expect("join")
    .expect("run tsx");
    let (out, _server) = run;
    assert!(out.status.success(), "the generated client failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(&last_line(&out.stdout)).expect("json line");
    assert!(seen["texts"][0].as_str().is_some_and(|t| t.contains("hello from typescript 1")), "{seen}");
    assert!(seen["texts"][1].as_str().is_some_and(|t| t.contains("turn 2")), "{seen}");
    assert_eq!((seen["turn_count"].as_u64(), seen["turns"].as_u64()), (Some(2), Some(2)), "{seen}");
    assert_eq!(seen["closed_before"], Value::Null);
    assert_eq!(seen["meta"], serde_json::json!({"via": "typescript"}));
    assert_eq!(seen["listed"][0], seen["session_id"]);
    assert_eq!(seen["already_closed"], serde_json::json!([false, true]));
    assert_eq!(seen["statuses"], serde_json::json!([410, 401]));
    assert_eq!(seen["codes"], serde_json::json!(["gone", "unauthorized"]));
}
