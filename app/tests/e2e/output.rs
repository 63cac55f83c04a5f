//! What an agent's output may cost: a turn's output is capped, stored once,
//! and read back a page at a time (SPEC: Operations, v0.3).

use crate::support::Instance;
use serde_json::Value;

#[tokio::test]
async fn a_turn_over_the_output_limit_fails_502_saying_so_and_the_session_stays_usable() {
    let instance = Instance::new("max_turn_output_bytes = 65536\nmax_prompt_bytes = 400000\n");
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    // The echo agent says the prompt back: 200 KB of output against a 64 KiB limit.
    let over = server.turn(&token, &id, &"x".repeat(200_000)).await;
    assert_eq!(over.status.as_u16(), 502, "{}", over.body);
    let error = over.body["error"].as_str().unwrap_or_default();
    assert!(error.contains("limit of 65536 bytes") && error.contains("stopped"), "{error}");
    let next = server.turn(&token, &id, "still there?").await.expect_status(200);
    assert!(next["text"].as_str().unwrap_or_default().contains("still there?"), "{next}");
}

#[tokio::test]
async fn big_turns_are_stored_once_and_read_a_page_at_a_time() {
    const MIB: usize = 1024 * 1024;
    let instance = Instance::new(&format!("max_prompt_bytes = {}\n", 2 * MIB));
    let server = instance.start();
    let token = server.token();
    let id = server.open_session(&token, "echo").await;
    let mut texts = Vec::new();
    for i in 0..4 {
        let prompt = format!("{i}").repeat(MIB);
        let done = server.turn(&token, &id, &prompt).await.expect_status(200);
        texts.push(done["text"].as_str().expect("text").to_owned());
    }
    let (mut cursor, mut pages, mut seen) = (None::<String>, 0, Vec::new());
    loop {
        let path = match &cursor {
            None => format!("/sessions/{id}/turns?limit=1"),
            Some(c) => format!("/sessions/{id}/turns?limit=1&cursor={c}"),
        };
        let page = server.get(&token, &path).await.expect_status(200);
        pages += 1;
        assert_eq!(page["count"], 1, "one turn a page");
        let turn = &page["turns"][0];
        seen.push(turn["text"].as_str().expect("text").to_owned());
        match &page["next_cursor"] {
            Value::String(c) => cursor = Some(c.clone()),
            Value::Null => break,
            other => panic!("next_cursor {other}"),
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 4);
    assert!(seen == texts, "the text read back is the text answered");
    let bad = server.get(&token, &format!("/sessions/{id}/turns?limit=0")).await;
    assert_eq!(bad.status.as_u16(), 422);
    let bad = server.get(&token, &format!("/sessions/{id}/turns?cursor=zzz")).await;
    assert_eq!(bad.status.as_u16(), 422);

    // 4 MiB of prompts and 4 MiB of output. The turn row holds the output once
    // (its text is derived from its events); the session's feed keeps its own
    // copy of each update and of the turn's answer, for replay after a restart
    // (README: the session's feed), and JSON-RPC framing adds its share.
    // A clean stop checkpoints SQLite's WAL into the file.
    assert!(server.stop().success());
    let data = instance.dir.path().join("data");
    let stored: u64 = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ledger.sqlite3"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(stored < (24 * MIB) as u64, "the ledger holds {stored} bytes for 8 MiB of prompts and output");
}
