//! Starts the real `clawdforge` binary on a free loopback port with its own
//! data directory, and talks to it over HTTP.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The built binary: `scripts/test` builds it before the tests run.
pub fn bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let bin = target.join("debug").join("clawdforge");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p clawdforge` (scripts/test does)",
        bin.display()
    );
    bin
}

/// The project's pinned acpx: `scripts/test` installs it.
pub fn acpx() -> PathBuf {
    let acpx = root().join("node_modules/.bin/acpx");
    assert!(acpx.is_file(), "{} is missing: run `npm install` in the project root (scripts/test does)", acpx.display());
    acpx
}

/// The agent runtime the tests run on: `TEST_AGENT_RUNTIME` (`acp` or
/// `acpx`; not `CLAWDFORGE_*`, which the server would read), else the default `acp`. Tests about one runtime name it in their
/// own config (`agent_runtime = "acpx"`), which replaces this line.
pub fn runtime() -> String {
    std::env::var("TEST_AGENT_RUNTIME").unwrap_or_else(|_| "acp".to_owned())
}

/// The processes whose working directory lies under `dir` (agents run in
/// their session's workspace), read from /proc.
pub fn processes_under(dir: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::canonicalize(dir) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .collect()
}

/// A data directory and the config file that points into it.
pub struct Instance {
    pub dir: Arc<TempDir>,
    pub config: PathBuf,
}

impl Instance {
    /// A fresh instance; `extra` is appended to the generated TOML.
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("clawdforge.toml");
        let base = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {data:?}\nagent_runtime = {runtime:?}\nacpx_bin = {acpx:?}\nacpx_queue_ttl_secs = 15\n\
             claude_bin = {claude:?}\nbuiltin_agents = []\nturn_timeout_secs = 30\nshutdown_grace_secs = 20\n",
            data = dir.path().join("data"),
            runtime = runtime(),
            acpx = acpx(),
            claude = root().join("adapters/tests/fixtures/fake-claude"),
        );
        // A key given in `extra` replaces the default line (TOML refuses duplicates).
        let overridden = |line: &str| {
            let key = line.split('=').next().unwrap_or_default().trim();
            extra.lines().any(|l| l.split('=').next().unwrap_or_default().trim() == key)
        };
        let kept: String = base.lines().filter(|l| !overridden(l)).map(|l| format!("{l}\n")).collect();
        let toml = format!(
            "{kept}{extra}\n[agents]\nfaulty = \"{bin} echo-agent --faults\"\n\
             forgetful = \"{bin} echo-agent --faults --no-load-session\"\n",
            bin = bin().display()
        );
        std::fs::write(&config, toml).expect("write config");
        Self { dir: Arc::new(dir), config }
    }

    /// Runs a one-shot command of the binary against this instance.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin()).arg("--config").arg(&self.config).args(args).output().expect("run clawdforge")
    }

    /// Adds an app through the CLI and returns its token.
    pub fn add_app(&self, name: &str) -> String {
        let out = self.cli(&["app", "add", name]);
        assert!(out.status.success(), "app add failed: {}", String::from_utf8_lossy(&out.stderr));
        last_line(&out.stdout)
    }

    /// Starts the server on this instance.
    pub fn start(&self) -> Server {
        Server::start(self)
    }
}

/// The last non-empty line of some output.
pub fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned()
}

/// A running server.
pub struct Server {
    child: Child,
    pub base: String,
    /// The token of app `default` when this start created it.
    pub token: Option<String>,
    pub stderr: Arc<Mutex<String>>,
    /// The stdout lines printed before the `listening on` line.
    pub banner: Vec<String>,
    http: reqwest::Client,
}

impl Server {
    fn start(instance: &Instance) -> Server {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(&instance.config)
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clawdforge serve");
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr_log = Arc::new(Mutex::new(String::new()));
        let sink = stderr_log.clone();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = sink.lock().expect("lock");
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut token = None;
        let mut expect_token = false;
        let mut banner = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("server did not start; stderr:\n{}", stderr_log.lock().expect("lock")));
            if !line.contains("listening on ") {
                banner.push(line.clone());
            }
            if expect_token {
                token = Some(line.trim().to_owned());
                expect_token = false;
            } else if line.starts_with("created app default") {
                expect_token = true;
            } else if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server { child, base, token, stderr: stderr_log, banner, http }
    }

    /// The default app's token (this start must have created it).
    pub fn token(&self) -> String {
        self.token.clone().expect("this start created app default")
    }

    /// One request; returns status, JSON body (or the text as a JSON string) and Retry-After.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.try_call(method, path, token, body).await.expect("request reaches the server")
    }

    /// One request, or the transport error when the server is gone.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Reply { status, body, headers })
    }

    pub async fn create(&self, token: &str, agent: &str) -> Reply {
        self.call(Method::POST, "/sessions", Some(token), Some(json!({ "agent": agent }))).await
    }

    /// Creates a session that must be admitted and returns its id.
    pub async fn open_session(&self, token: &str, agent: &str) -> String {
        let body = self.create(token, agent).await.expect_status(200);
        body["session_id"].as_str().expect("a session id").to_owned()
    }

    pub async fn turn(&self, token: &str, id: &str, prompt: &str) -> Reply {
        self.call(Method::POST, &format!("/sessions/{id}/turn"), Some(token), Some(json!({ "prompt": prompt }))).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn delete(&self, token: &str, id: &str) -> Reply {
        self.call(Method::DELETE, &format!("/sessions/{id}"), Some(token), None).await
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGTERM).expect("send SIGTERM");
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the process ends at once, as in a crash (shared handles may still point at it).
    pub fn kill9(&self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGKILL).expect("send SIGKILL");
    }

    /// SIGTERM and wait.
    pub fn stop(self) -> ExitStatus {
        self.terminate();
        self.wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// Panics with the body unless the status is `want`.
    pub fn expect_status(self, want: u16) -> Value {
        assert_eq!(self.status.as_u16(), want, "unexpected status; body: {}", self.body);
        self.body
    }
}

/// Polls `f` until it yields `Some`, for up to `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not reached within {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

/// A server-sent event stream being read.
pub struct Sse {
    resp: reqwest::Response,
    buf: String,
    /// How many `: keep-alive` comments came so far.
    pub keep_alives: usize,
}

impl Sse {
    /// The status and content type of the response.
    pub fn head(&self) -> (u16, String) {
        let ct = self.resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        (self.resp.status().as_u16(), ct.to_owned())
    }

    /// The next event; `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.keep_alives += 1;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).expect("JSON data");
                return Some(SseEvent { id, event, data });
            }
            match self.resp.chunk().await {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).expect("utf-8")),
                _ => return None,
            }
        }
    }

    /// Every event until the stream ends.
    pub async fn rest(&mut self) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }
}

impl Server {
    /// `POST /sessions/{id}/turn` asking for a stream; refusals come back as `Err(reply)`.
    pub async fn stream_turn(&self, token: &str, id: &str, prompt: &str) -> Result<Sse, Reply> {
        let resp = self
            .http
            .post(format!("{}/sessions/{id}/turn", self.base))
            .bearer_auth(token)
            .header("Accept", "text/event-stream")
            .json(&json!({ "prompt": prompt }))
            .send()
            .await
            .expect("request reaches the server");
        sse_or_reply(resp).await
    }

    /// `GET /sessions/{id}/stream` after `last_event_id`.
    pub async fn feed(&self, token: &str, id: &str, last_event_id: Option<u64>) -> Result<Sse, Reply> {
        let mut req = self.http.get(format!("{}/sessions/{id}/stream", self.base)).bearer_auth(token);
        if let Some(last) = last_event_id {
            req = req.header("Last-Event-ID", last.to_string());
        }
        sse_or_reply(req.send().await.expect("request reaches the server")).await
    }

    /// `POST /sessions/{id}/cancel`.
    pub async fn cancel(&self, token: &str, id: &str) -> Reply {
        self.call(Method::POST, &format!("/sessions/{id}/cancel"), Some(token), None).await
    }
}

async fn sse_or_reply(resp: reqwest::Response) -> Result<Sse, Reply> {
    let is_sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if resp.status().as_u16() == 200 && is_sse {
        return Ok(Sse { resp, buf: String::new(), keep_alives: 0 });
    }
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.expect("body");
    Err(Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)), headers })
}
