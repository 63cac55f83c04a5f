//! Schemathesis (installed by `scripts/setup --tests` into `target/sdk-venv`) runs every
//! check, the stateful phase included, against the live server and its own
//! served spec, and finds nothing. `use_after_free` is left out: a closed
//! session stays readable by contract.

use crate::support::{root, venv_tool, Instance};
use std::process::Command;

#[tokio::test]
async fn schemathesis_finds_no_failure_against_the_live_server() {
    let st = venv_tool("schemathesis");
    let allowed = tempfile::tempdir().expect("tempdir");
    let allowed_root = allowed.path().canonicalize().expect("canonical root");
    let file = allowed_root.join("notes.txt");
    std::fs::write(&file, "notes\n").expect("write the allowed file");
    let instance = Instance::new(&format!(
        "max_live_sessions = 1000\nmax_sessions_per_app = 1000\nallowed_roots = [{:?}]\n",
        allowed_root.display().to_string()
    ));
    let server = instance.start();
    let token = server.token();
    let spec = format!("{}/openapi.json", server.base);
    // The coverage phase builds its own boundary values, which the hooks do not
    // see: a turn's `files` must name files that exist, which no schema can say,
    // so that one operation goes through the other phases only. The session
    // feed (`/stream`) is an event stream that stays open while its session
    // does: tests/e2e/streaming.rs proves it, not a request/response fuzzer.
    let runs = [
        vec!["--phases", "examples,coverage,fuzzing", "--exclude-path-regex", "/(turn|stream)$"],
        vec!["--phases", "examples,fuzzing,stateful", "--exclude-path-regex", "/stream$"],
    ];
    for phases in runs {
        let (st, spec, token, file) = (st.clone(), spec.clone(), token.clone(), file.clone());
        let out = tokio::task::spawn_blocking(move || {
            Command::new(&st)
                .arg("--config-file")
                .arg(root().join("app/tests/fixtures/schemathesis.toml"))
                .arg("run")
                .arg(&spec)
                .args(["--checks", "all", "--exclude-checks", "use_after_free"])
                .args(&phases)
                .args(["--max-examples", "20", "--seed", "20261125", "--workers", "1"])
                .args(["--suppress-health-check", "all", "--request-timeout", "30"])
                .arg("-H")
                .arg(format!("Authorization: Bearer {token}"))
                .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
                .env("PYTHONPATH", root().join("app/tests/fixtures"))
                .env("CF_ALLOWED_FILE", &file)
                .env("NO_COLOR", "1")
                .output()
        })
        .await
        .expect("join")
        .expect("run schemathesis");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tail: String = stdout.chars().rev().take(12_000).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(out.status.success(), "schemathesis found failures:\n{tail}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("passed"), "schemathesis ran no case:\n{tail}");
    }
    drop(server);
}
