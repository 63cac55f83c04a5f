//! The real `clawdforge` binary on a free loopback port with its own data
//! directory, and an HTTP client for it.

use crate::process::Started;
use crate::sse::Sse;
use crate::{acpx, bin, last_line, root};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The agent runtime the tests run on: `TEST_AGENT_RUNTIME` (`acp` or
/// `acpx`; not `CLAWDFORGE_*`, which the server would read), else the default `acp`. Tests about one runtime name it in their
/// own config (`agent_runtime = "acpx"`), which replaces this line.
pub fn runtime() -> String {
    std::env::var("TEST_AGENT_RUNTIME").unwrap_or_else(|_| "acp".to_owned())
}

/// A data directory and the config file that points into it.
pub struct Instance {
    /// The directory (removed when the last holder drops it).
    pub dir: Arc<TempDir>,
    /// The config file in it.
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

/// A running server.
pub struct Server {
    process: Started,
    /// `http://ADDR`.
    pub base: String,
    /// The token of app `default` when this start created it.
    pub token: Option<String>,
    /// What the server has written to stderr so far.
    pub stderr: Arc<Mutex<String>>,
    /// The stdout lines printed before the `listening on` line.
    pub banner: Vec<String>,
    http: reqwest::Client,
}

impl Server {
    fn start(instance: &Instance) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg("--config").arg(&instance.config).arg("serve").env("RUST_LOG", "info");
        let started = Started::start(cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
        let token = started.default_token();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        Server {
            base: started.base.clone(),
            token,
            stderr: started.stderr.clone(),
            banner: started.banner.clone(),
            process: started,
            http,
        }
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

    /// `POST /sessions` with `agent`.
    pub async fn create(&self, token: &str, agent: &str) -> Reply {
        self.call(Method::POST, "/sessions", Some(token), Some(json!({ "agent": agent }))).await
    }

    /// Creates a session that must be admitted and returns its id.
    pub async fn open_session(&self, token: &str, agent: &str) -> String {
        let body = self.create(token, agent).await.expect_status(200);
        body["session_id"].as_str().expect("a session id").to_owned()
    }

    /// `POST /sessions/{id}/turn` with `prompt`.
    pub async fn turn(&self, token: &str, id: &str, prompt: &str) -> Reply {
        self.call(Method::POST, &format!("/sessions/{id}/turn"), Some(token), Some(json!({ "prompt": prompt }))).await
    }

    /// `GET path`.
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `DELETE /sessions/{id}`.
    pub async fn delete(&self, token: &str, id: &str) -> Reply {
        self.call(Method::DELETE, &format!("/sessions/{id}"), Some(token), None).await
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = Pid::from_raw(i32::try_from(self.process.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGTERM).expect("send SIGTERM");
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = self.process.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the process ends at once, as in a crash (shared handles may still point at it).
    pub fn kill9(&self) {
        let pid = Pid::from_raw(i32::try_from(self.process.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGKILL).expect("send SIGKILL");
    }

    /// SIGTERM and wait.
    pub fn stop(self) -> ExitStatus {
        self.terminate();
        self.wait()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body, or the text as a JSON string.
    pub body: Value,
    /// The response headers (`Retry-After`, `Allow`, ...).
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// Panics with the body unless the status is `want`.
    pub fn expect_status(self, want: u16) -> Value {
        assert_eq!(self.status.as_u16(), want, "unexpected status; body: {}", self.body);
        self.body
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
