//! Connection limits against hostile clients: slowloris heads, trickled
//! bodies, held connections, anonymous large bodies (SPEC: Operations, v0.3).

use crate::raw::{closed_within, connect, read_response, send};
use crate::support::Instance;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_partial_request_line_is_closed_within_the_header_timeout() {
    let instance = Instance::new("header_timeout_secs = 1\n");
    let server = instance.start();
    let mut s = connect(&server.base);
    assert!(send(&mut s, b"GET /heal"));
    let (closed, _) = closed_within(&mut s, LONG);
    assert!(closed, "a connection stuck in its request line must be closed");
}

#[tokio::test]
async fn trickled_headers_are_closed_within_the_header_timeout() {
    let instance = Instance::new("header_timeout_secs = 2\n");
    let server = instance.start();
    let mut s = connect(&server.base);
    assert!(send(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    // One header every 200 ms: each arrives well within any per-read timeout.
    let mut sent = 0;
    let closed = loop {
        std::thread::sleep(Duration::from_millis(200));
        if !send(&mut s, format!("X-Slow-{sent}: y\r\n").as_bytes()) {
            break true;
        }
        sent += 1;
        let (closed, _) = closed_within(&mut s, Duration::from_millis(1));
        if closed {
            break true;
        }
        if sent > 100 {
            break false;
        }
    };
    assert!(closed, "trickled headers kept the connection open for {sent} headers");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let instance = Instance::new("header_timeout_secs = 1\n");
    let server = instance.start();
    let mut s = connect(&server.base);
    assert!(send(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    let (status, _, _) = read_response(&mut s, LONG).expect("an answer");
    assert_eq!(status, 200);
    let (closed, _) = closed_within(&mut s, LONG);
    assert!(closed, "an idle keep-alive connection must be closed");
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_with_408_within_the_body_timeout() {
    let instance = Instance::new("body_timeout_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let mut s = connect(&server.base);
    let head = format!(
        "POST /sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{"
    );
    assert!(send(&mut s, head.as_bytes()));
    let mut answer = None;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(200));
        if !send(&mut s, b" ") {
            break;
        }
        if let Some(r) = read_response(&mut s, Duration::from_millis(1)) {
            answer = Some(r);
            break;
        }
    }
    let (status, _, body) = answer.or_else(|| read_response(&mut s, LONG)).expect("an answer before the close");
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("\"code\":\"timeout\""), "{body}");
    let (closed, _) = closed_within(&mut s, LONG);
    assert!(closed);
}

#[tokio::test]
async fn an_anonymous_large_post_is_refused_before_its_body_is_read() {
    let instance = Instance::new("body_timeout_secs = 600\n");
    let server = instance.start();
    let mut s = connect(&server.base);
    // 50 MB announced, not one byte of it sent: the answer cannot wait for it.
    let head =
        "POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n";
    assert!(send(&mut s, head.as_bytes()));
    let (status, head, body) = read_response(&mut s, LONG).expect("an answer without the body");
    assert_eq!(status, 401, "{body}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    // A wrong token is refused the same way.
    let mut s = connect(&server.base);
    let head = "POST /run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer cf_nope\r\nContent-Length: 52428800\r\n\r\n";
    assert!(send(&mut s, head.as_bytes()));
    let (status, _, body) = read_response(&mut s, LONG).expect("an answer without the body");
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn healthz_answers_while_many_slow_connections_are_held() {
    let instance = Instance::new("header_timeout_secs = 60\nmax_connections = 1024\n");
    let server = instance.start();
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut s = connect(&server.base);
        assert!(send(&mut s, b"GET /healthz HTTP/1.1\r\nHost"));
        held.push(s);
    }
    let mut s = connect(&server.base);
    assert!(send(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    let (status, _, body) = read_response(&mut s, LONG).expect("healthz answers");
    assert_eq!(status, 200, "{body}");
    let (closed, _) = closed_within(&mut held[0], Duration::from_millis(10));
    assert!(!closed, "the slow connections are still held (the header timeout is 60 s)");
}

#[tokio::test]
async fn beyond_max_connections_a_new_connection_waits_while_admitted_ones_are_served() {
    let instance = Instance::new("header_timeout_secs = 3\nmax_connections = 2\n");
    let server = instance.start();
    let mut a = connect(&server.base);
    let mut b = connect(&server.base);
    // Both admitted and served (the second request makes sure the server took them).
    for s in [&mut a, &mut b] {
        assert!(send(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_eq!(read_response(s, LONG).expect("answer").0, 200);
    }
    let mut c = connect(&server.base);
    assert!(send(&mut c, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    // An admitted connection keeps being served while the third waits.
    assert!(send(&mut a, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_eq!(read_response(&mut a, LONG).expect("answer").0, 200);
    // The third is answered once an idle one was closed.
    let (status, _, _) = read_response(&mut c, LONG).expect("the waiting connection is served");
    assert_eq!(status, 200);
    let (a_closed, _) = closed_within(&mut a, Duration::from_millis(50));
    let (b_closed, _) = closed_within(&mut b, Duration::from_millis(50));
    assert!(a_closed || b_closed, "the third connection was served before a slot was free");
}

#[tokio::test]
async fn a_request_that_runs_longer_than_the_header_timeout_is_answered() {
    let instance = Instance::new("header_timeout_secs = 1\n");
    let server = instance.start();
    let token = server.token();
    let piddir = instance.dir.path().join("pids");
    std::fs::create_dir(&piddir).expect("piddir");
    let prompt = format!("mode:sleep piddir:{} tag:x secs:3", piddir.display());
    let r =
        server.call(reqwest::Method::POST, "/run", Some(&token), Some(serde_json::json!({ "prompt": prompt }))).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
}
