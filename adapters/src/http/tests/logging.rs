use super::support::spawn_api;
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Once;

thread_local! {
    /// The log lines written on this thread, when a test asked for them.
    static CAPTURE: RefCell<Option<Rc<RefCell<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes to this thread's capture, if any. A global subscriber with a
/// per-thread sink: scoped subscribers race with other tests' threads over
/// tracing's global callsite cache, a global one does not.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = c.borrow().as_ref() {
                buffer.borrow_mut().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing this thread's log output.
fn capture_this_thread() -> Rc<RefCell<Vec<u8>>> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt().with_writer(|| ThreadSink).with_ansi(false).finish();
        // Another test binary's global subscriber cannot exist in this process.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let buffer = Rc::new(RefCell::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    buffer
}

#[tokio::test]
async fn each_request_logs_one_line_with_method_path_status_app_and_duration_but_no_secret() {
    // A current-thread test runtime: every request of this test is served on this thread.
    let log = capture_this_thread();

    let api = spawn_api().await;
    let sid = api.create_session(&api.alpha).await;
    api.turn(&api.alpha, &sid, json!({"prompt": "TOP-SECRET-PROMPT"})).await.ok();
    api.create_with_authorization(Some("Bearer cf_WRONG-TOKEN")).await.assert_error(401, "unauthorized");

    let text = String::from_utf8_lossy(&log.borrow()).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(" request ")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("method=POST") && lines[0].contains(r#"path="/sessions""#), "{}", lines[0]);
    assert!(lines[0].contains("status=200") && lines[0].contains(r#"app="alpha""#), "{}", lines[0]);
    assert!(lines[0].contains("duration_ms="), "{}", lines[0]);
    assert!(lines[1].contains(&format!(r#"path="/sessions/{sid}/turn""#)), "{}", lines[1]);
    assert!(lines[2].contains("status=401") && lines[2].contains(r#"app="-""#), "{}", lines[2]);
    assert!(!text.contains("TOP-SECRET-PROMPT"), "a prompt reached the log");
    assert!(!text.contains(&api.alpha) && !text.contains("WRONG-TOKEN"), "a token reached the log");
}
