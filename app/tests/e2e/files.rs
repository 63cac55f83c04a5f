//! A turn's `files` are checked for the real file, and the prompt limit holds
//! for the whole message the agent receives (SPEC: Sessions, `files`, `prompt`).

use crate::support::Instance;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn files_are_resolved_before_the_allowed_roots_check() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "s3cret").expect("write");
    let roots = tempfile::tempdir().expect("tempdir");
    let root = roots.path().canonicalize().expect("canonical root");
    std::fs::write(root.join("ok.txt"), "fine").expect("write");
    std::os::unix::fs::symlink(&secret, root.join("escape")).expect("symlink");
    std::os::unix::fs::symlink(root.join("ok.txt"), root.join("inside")).expect("symlink");
    let instance = Instance::new(&format!("allowed_roots = [{:?}]\n", root.display().to_string()));
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let turn = |files: Vec<String>| {
        let path = format!("/sessions/{id}/turn");
        let (server, token) = (&server, &token);
        async move { server.call(Method::POST, &path, Some(token), Some(json!({"prompt": "look", "files": files}))).await }
    };
    let p = |name: &str| root.join(name).display().to_string();

    let escape = turn(vec![p("escape")]).await;
    assert_eq!(escape.status.as_u16(), 422, "{}", escape.body);
    assert!(escape.body["error"].as_str().unwrap_or_default().starts_with("files[0]"), "{}", escape.body);
    assert!(!escape.body.to_string().contains("secret.txt"), "the target is not shown: {}", escape.body);

    let missing = turn(vec![p("ok.txt"), p("nope.txt")]).await;
    assert_eq!(missing.status.as_u16(), 422, "{}", missing.body);
    assert!(missing.body["error"].as_str().unwrap_or_default().contains("files[1]"), "{}", missing.body);

    let outside_root = turn(vec![secret.display().to_string()]).await;
    assert_eq!(outside_root.status.as_u16(), 422, "{}", outside_root.body);

    // A link that stays inside the roots is fine; the agent is told the real file.
    let ok = turn(vec![p("inside")]).await.expect_status(200);
    assert!(ok["text"].as_str().unwrap_or_default().contains(&p("ok.txt")), "{ok}");
}

#[tokio::test]
async fn the_prompt_limit_holds_for_the_prompt_and_its_files_together() {
    let roots = tempfile::tempdir().expect("tempdir");
    let root = roots.path().canonicalize().expect("canonical root");
    let long = root.join("d".repeat(200));
    std::fs::create_dir(&long).expect("dir");
    let file = long.join("f".repeat(200));
    std::fs::write(&file, "x").expect("write");
    let instance =
        Instance::new(&format!("allowed_roots = [{:?}]\nmax_prompt_bytes = 1000\n", root.display().to_string()));
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let path = format!("/sessions/{id}/turn");
    let prompt = "p".repeat(900);
    let alone = server.call(Method::POST, &path, Some(&token), Some(json!({ "prompt": prompt }))).await;
    assert_eq!(alone.status.as_u16(), 200, "{}", alone.body);
    let files = vec![file.display().to_string(), file.display().to_string()];
    let both = server.call(Method::POST, &path, Some(&token), Some(json!({ "prompt": prompt, "files": files }))).await;
    assert_eq!(both.status.as_u16(), 413, "{}", both.body);
    assert_eq!(both.body["code"], "payload_too_large");
}
