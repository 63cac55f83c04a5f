//! Configuration: embedded defaults, then an optional TOML file, then
//! `CLAWDFORGE_*` environment variables, then command-line flags.
//!
//! [`Config`] is what the layers give; [`Config::check`] turns it, once, into
//! the [`Settings`] the rest of the binary runs on. Loading reads; it never
//! creates a file or a directory.

use clawdforge_adapters::runtime::acp::Permissions;
use clawdforge_adapters::runtime::acpx::PermissionMode as AcpxPermissions;
use clawdforge_domain::{RunPolicy, SessionPolicy};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which ledger backend the `ledger` key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LedgerKind {
    /// A SQLite file.
    Sqlite,
    /// A Postgres database, which several gateways may share.
    Postgres,
    /// In memory, gone at exit.
    Memory,
}

/// Which agent runtime the `agent_runtime` key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// The gateway runs each session's agent itself.
    Acp,
    /// Through the acpx CLI.
    Acpx,
    /// Agents that answer nothing at once (for benchmarking the control plane).
    Noop,
}

/// How agents' permission requests are answered (`permission_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionMode {
    /// Approve every request.
    ApproveAll,
    /// Approve reads and searches, deny the rest.
    ApproveReads,
    /// Deny every request.
    DenyAll,
    /// The client decides (the `acp` runtime only).
    Ask,
}

/// The shape of log lines (`log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Every setting, as the layers give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// Where the ledger, the workspaces and acpx's state live by default.
    pub data_dir: PathBuf,
    /// `sqlite`, `postgres` or `memory`.
    pub ledger: LedgerKind,
    /// The SQLite file (default `<data_dir>/ledger.sqlite3`).
    pub ledger_path: Option<PathBuf>,
    /// `acp` (the gateway runs the agents itself), `acpx` (through the acpx CLI), or `noop` (for benchmarks).
    pub agent_runtime: RuntimeKind,
    /// Per-session working directories (default `<data_dir>/workspaces`).
    pub workspace_root: Option<PathBuf>,
    /// The acpx executable (default: the project's pinned `node_modules/.bin/acpx`).
    pub acpx_bin: Option<PathBuf>,
    /// The HOME acpx keeps its state in (default `<data_dir>/acpx-home`).
    pub acpx_home: Option<PathBuf>,
    /// How long acpx keeps an idle agent alive (acpx `--ttl`).
    pub acpx_queue_ttl_secs: Option<u64>,
    /// The Claude Code executable for `/run`.
    pub claude_bin: PathBuf,
    /// acpx's built-in agents offered to clients.
    pub builtin_agents: Vec<String>,
    /// Custom agents: name = command line (the bundled `echo` agent is always there).
    pub agents: BTreeMap<String, String>,
    /// `approve-all`, `approve-reads`, `deny-all` or `ask`.
    pub permission_mode: PermissionMode,
    /// Open sessions across all apps.
    pub max_live_sessions: u32,
    /// Open sessions per app.
    pub max_sessions_per_app: u32,
    /// Idle time after which a session is closed.
    pub session_ttl_secs: u64,
    /// Time after closing after which a session is deleted.
    pub session_hard_ttl_secs: u64,
    /// How often the sweeper runs.
    pub sweep_interval_secs: u64,
    /// How long a turn may run (and wait for the turn before it).
    pub turn_timeout_secs: u64,
    /// The largest prompt in bytes.
    pub max_prompt_bytes: usize,
    /// Roots that a turn's `files` must lie under.
    pub allowed_roots: Vec<PathBuf>,
    /// The default `/run` timeout.
    pub run_timeout_secs: u64,
    /// The largest `/run` timeout a client may ask for.
    pub run_max_timeout_secs: u64,
    /// How long running requests may finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// How long a request's headers may take to arrive (and an idle keep-alive connection may wait).
    pub header_timeout_secs: u64,
    /// How long a request's body may take to arrive.
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// `/run` jobs running at once across all apps (beyond: 503).
    pub max_concurrent_runs: u32,
    /// `/run` jobs running at once per app (beyond: 429).
    pub max_runs_per_app: u32,
    /// `acp` runtime: an agent process idle this long is stopped (the next turn starts it again).
    pub agent_idle_secs: u64,
    /// How long a cancelled turn's agent may take to stop before it is killed.
    pub cancel_grace_secs: u64,
    /// The most agent output one turn may produce; beyond, the agent is stopped and the turn fails.
    pub max_turn_output_bytes: usize,
    /// The Postgres database when `ledger = "postgres"` (a `postgres://` URL).
    pub database_url: Option<String>,
    /// How long a permission request waits for the client (`permission_mode = "ask"`).
    pub permission_timeout_secs: u64,
    /// The silence after which an event stream sends a keep-alive comment.
    pub stream_keep_alive_secs: u64,
    /// An address serving `GET /metrics` without auth (off when unset).
    pub metrics_listen: Option<String>,
    /// A bearer token that opens `GET /metrics` on the main address (off when unset).
    pub metrics_token: Option<String>,
    /// Whether request and turn metrics carry the app's name.
    pub metrics_per_app: bool,
    /// This gateway's id among those sharing a Postgres ledger (default: a random id made at start).
    pub node_id: Option<String>,
    /// Where the other gateways reach this one (default `http://<the bound listen address>`).
    pub advertise_url: Option<String>,
    /// The secret gateways show each other when forwarding; with `ledger = "postgres"` it turns ownership,
    /// forwarding and takeover on. Never logged.
    pub cluster_secret: Option<Secret>,
    /// How often this gateway writes its heartbeat.
    pub heartbeat_secs: u64,
    /// A gateway whose heartbeat is this old is dead: its sessions are taken over.
    pub node_dead_secs: u64,
}

/// A configured secret: read like a string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Default for Config {
    /// The limits the core's policies state, and the adapters' own defaults.
    fn default() -> Self {
        let sessions = SessionPolicy::default();
        let runs = RunPolicy::default();
        Self {
            listen: "127.0.0.1:8765".into(),
            data_dir: PathBuf::from(".clawdforge"),
            ledger: LedgerKind::Sqlite,
            ledger_path: None,
            agent_runtime: RuntimeKind::Acp,
            workspace_root: None,
            acpx_bin: None,
            acpx_home: None,
            acpx_queue_ttl_secs: None,
            claude_bin: PathBuf::from("claude"),
            builtin_agents: vec!["claude".into(), "codex".into(), "gemini".into()],
            agents: BTreeMap::new(),
            permission_mode: PermissionMode::ApproveReads,
            max_live_sessions: sessions.max_live_sessions,
            max_sessions_per_app: sessions.max_sessions_per_app,
            session_ttl_secs: sessions.session_ttl.as_secs(),
            session_hard_ttl_secs: sessions.session_hard_ttl.as_secs(),
            sweep_interval_secs: 60,
            turn_timeout_secs: sessions.turn_timeout.as_secs(),
            max_prompt_bytes: sessions.max_prompt_bytes,
            allowed_roots: Vec::new(),
            run_timeout_secs: runs.default_timeout.as_secs(),
            run_max_timeout_secs: runs.max_timeout.as_secs(),
            shutdown_grace_secs: 30,
            log_format: LogFormat::Text,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 1024,
            max_concurrent_runs: runs.max_concurrent_runs,
            max_runs_per_app: runs.max_runs_per_app,
            agent_idle_secs: 300,
            cancel_grace_secs: sessions.cancel_grace.as_secs(),
            max_turn_output_bytes: 8 * 1024 * 1024,
            database_url: None,
            permission_timeout_secs: sessions.permission_timeout.as_secs(),
            stream_keep_alive_secs: 15,
            metrics_listen: None,
            metrics_token: None,
            metrics_per_app: false,
            node_id: None,
            advertise_url: None,
            cluster_secret: None,
            heartbeat_secs: 5,
            node_dead_secs: 15,
        }
    }
}

/// Flags that override every other layer (only those given).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--ledger` (checked with the other layers, so a bad value reads like one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// `--ledger-path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_path: Option<PathBuf>,
}

/// A configuration that cannot be used, in one sentence naming the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// Which ledger backend to run, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChoice {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// In memory, gone at exit.
    Memory,
    /// A Postgres database (its URL), which several gateways may share.
    Postgres(String),
}

/// Which agent runtime to run, with how it answers permission requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeChoice {
    /// The native runtime.
    Acp(Permissions),
    /// The acpx CLI (which cannot ask the client).
    Acpx(AcpxPermissions),
    /// The runtime that runs nothing.
    Noop,
}

/// The metrics endpoints, when either is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The address of the unauthenticated metrics server.
    pub listen: Option<SocketAddr>,
    /// The token that opens `GET /metrics` on the main address.
    pub token: Option<String>,
    /// Whether series carry the app's name.
    pub per_app: bool,
}

/// This gateway among others sharing one Postgres ledger.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// This gateway's id (as configured, or made at start).
    pub node_id: String,
    /// Where the others reach it (default: the bound address).
    pub advertise_url: Option<String>,
    /// What gateways show each other when forwarding.
    pub secret: Secret,
    /// How often the heartbeat is written.
    pub heartbeat: Duration,
    /// A heartbeat this old means its gateway is dead.
    pub node_dead: Duration,
}

/// The configuration, checked, with every default resolved: what the wiring builds from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address the HTTP server binds.
    pub listen: SocketAddr,
    /// Where state lives by default.
    pub data_dir: PathBuf,
    /// The ledger backend, with its file or database.
    pub ledger: LedgerChoice,
    /// The agent runtime, with how it answers permission requests.
    pub runtime: RuntimeChoice,
    /// The shape of log lines.
    pub log_format: LogFormat,
    /// Where sessions' working directories live.
    pub workspace_root: PathBuf,
    /// acpx's (and every agent's) HOME.
    pub acpx_home: PathBuf,
    /// The configured acpx executable, if any (else the pinned one is looked for).
    pub acpx_bin: Option<PathBuf>,
    /// acpx's `--ttl`, if configured.
    pub acpx_queue_ttl_secs: Option<u64>,
    /// The Claude Code executable for `/run`.
    pub claude_bin: PathBuf,
    /// acpx's built-in agents offered to clients (when installed).
    pub builtin_agents: Vec<String>,
    /// Custom agents: name to command line.
    pub agents: BTreeMap<String, String>,
    /// Roots that a turn's `files` must lie under, as configured.
    pub allowed_roots: Vec<PathBuf>,
    /// The session policy; its `agents` are filled in by the wiring, which finds them.
    pub sessions: SessionPolicy,
    /// The `/run` policy.
    pub runs: RunPolicy,
    /// How often the sweeper runs.
    pub sweep_interval: Duration,
    /// How long running requests may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long a request's headers may take.
    pub header_timeout: Duration,
    /// How long a request's body may take.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// An idle agent process is stopped after this (`acp`).
    pub agent_idle: Duration,
    /// The most agent output one turn may produce, in bytes.
    pub max_turn_output_bytes: usize,
    /// The silence after which an event stream sends a keep-alive comment.
    pub stream_keep_alive: Duration,
    /// The metrics, when asked for.
    pub metrics: Option<MetricsSettings>,
    /// Ownership, forwarding and takeover: on with `ledger = "postgres"` and a `cluster_secret`.
    pub cluster: Option<ClusterSettings>,
}

impl Config {
    /// Layers the file (if any), the environment and the flags over the defaults.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("config file {} does not exist or is not a file", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        // CLAWDFORGE_CONFIG names the file itself; it is not a setting.
        figment = figment.merge(Env::prefixed("CLAWDFORGE_").ignore(&["config"])).merge(Serialized::globals(flags));
        figment.extract().map_err(|e| ConfigError(one_sentence(&e)))
    }

    /// Checks every value and resolves the defaults that depend on others.
    pub fn check(self) -> Result<Settings, ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError(format!("{key} {why}")));
        let listen: SocketAddr = match self.listen.parse() {
            Ok(a) => a,
            Err(_) => return bad("listen", format!("must be an address like 127.0.0.1:8765, not {:?}", self.listen)),
        };
        let ledger = match self.ledger {
            LedgerKind::Sqlite => {
                LedgerChoice::Sqlite(self.ledger_path.clone().unwrap_or_else(|| self.data_dir.join("ledger.sqlite3")))
            }
            LedgerKind::Memory => LedgerChoice::Memory,
            LedgerKind::Postgres => match self.database_url.as_deref().map(str::trim) {
                Some(url) if !url.is_empty() => LedgerChoice::Postgres(url.to_owned()),
                _ => return bad("database_url", "must be set when ledger is postgres".into()),
            },
        };
        let runtime = match (self.agent_runtime, self.permission_mode) {
            (RuntimeKind::Acpx, mode) => RuntimeChoice::Acpx(match mode {
                PermissionMode::ApproveAll => AcpxPermissions::ApproveAll,
                PermissionMode::ApproveReads => AcpxPermissions::ApproveReads,
                PermissionMode::DenyAll => AcpxPermissions::DenyAll,
                PermissionMode::Ask => {
                    return bad(
                        "permission_mode",
                        "ask needs the acp agent runtime: acpx answers permission requests itself and cannot ask \
                         the client"
                            .into(),
                    )
                }
            }),
            (RuntimeKind::Acp, mode) => RuntimeChoice::Acp(match mode {
                PermissionMode::ApproveAll => Permissions::ApproveAll,
                PermissionMode::ApproveReads => Permissions::ApproveReads,
                PermissionMode::DenyAll => Permissions::DenyAll,
                PermissionMode::Ask => Permissions::Ask,
            }),
            (RuntimeKind::Noop, _) => RuntimeChoice::Noop,
        };
        for (key, v) in [
            ("max_live_sessions", u64::from(self.max_live_sessions)),
            ("max_sessions_per_app", u64::from(self.max_sessions_per_app)),
            ("session_ttl_secs", self.session_ttl_secs),
            ("session_hard_ttl_secs", self.session_hard_ttl_secs),
            ("sweep_interval_secs", self.sweep_interval_secs),
            ("turn_timeout_secs", self.turn_timeout_secs),
            ("max_prompt_bytes", self.max_prompt_bytes as u64),
            ("run_timeout_secs", self.run_timeout_secs),
            ("run_max_timeout_secs", self.run_max_timeout_secs),
            ("header_timeout_secs", self.header_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("max_connections", self.max_connections as u64),
            ("max_concurrent_runs", u64::from(self.max_concurrent_runs)),
            ("max_runs_per_app", u64::from(self.max_runs_per_app)),
            ("agent_idle_secs", self.agent_idle_secs),
            ("cancel_grace_secs", self.cancel_grace_secs),
            ("max_turn_output_bytes", self.max_turn_output_bytes as u64),
            ("permission_timeout_secs", self.permission_timeout_secs),
            ("stream_keep_alive_secs", self.stream_keep_alive_secs),
        ] {
            if v == 0 {
                return bad(key, "must be at least 1".into());
            }
        }
        if self.run_timeout_secs > self.run_max_timeout_secs {
            return bad(
                "run_timeout_secs",
                format!("must not exceed run_max_timeout_secs ({})", self.run_max_timeout_secs),
            );
        }
        if let Some(root) = self.allowed_roots.iter().find(|r| !r.is_absolute()) {
            return bad("allowed_roots", format!("must hold absolute paths, not {}", root.display()));
        }
        let names = self.builtin_agents.iter().chain(self.agents.keys());
        if let Some(name) = names.clone().find(|n| clawdforge_domain::model::AgentName::new(n.as_str()).is_err()) {
            return bad("agents", format!("has an invalid agent name {name:?} (letters, digits, '-', '_', '.')"));
        }
        if let Some((name, _)) = self.agents.iter().find(|(_, cmd)| cmd.trim().is_empty()) {
            return bad("agents", format!("gives agent {name:?} an empty command"));
        }
        if self.builtin_agents.iter().any(|b| self.agents.contains_key(b)) {
            return bad("agents", "names an agent that builtin_agents also names".into());
        }
        let metrics_listen = match &self.metrics_listen {
            None => None,
            Some(addr) => match addr.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    return bad("metrics_listen", format!("must be an address like 127.0.0.1:9090, not {addr:?}"))
                }
            },
        };
        if self.metrics_token.as_deref().is_some_and(|t| t.trim().len() < 16) {
            return bad("metrics_token", "must have at least 16 characters".into());
        }
        let metrics = (metrics_listen.is_some() || self.metrics_token.is_some()).then(|| MetricsSettings {
            listen: metrics_listen,
            token: self.metrics_token.clone(),
            per_app: self.metrics_per_app,
        });
        let secs = Duration::from_secs;
        let sessions = SessionPolicy {
            agents: Vec::new(),
            max_live_sessions: self.max_live_sessions,
            max_sessions_per_app: self.max_sessions_per_app,
            session_ttl: secs(self.session_ttl_secs),
            session_hard_ttl: secs(self.session_hard_ttl_secs),
            turn_timeout: secs(self.turn_timeout_secs),
            max_prompt_bytes: self.max_prompt_bytes,
            // Resolved like the files checked against them (a root may itself be a symlink).
            allowed_roots: self
                .allowed_roots
                .iter()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string())
                .collect(),
            cancel_grace: secs(self.cancel_grace_secs),
            permission_timeout: secs(self.permission_timeout_secs),
            ..SessionPolicy::default()
        };
        let runs = RunPolicy {
            max_prompt_bytes: self.max_prompt_bytes,
            default_timeout: secs(self.run_timeout_secs),
            max_timeout: secs(self.run_max_timeout_secs),
            max_concurrent_runs: self.max_concurrent_runs,
            max_runs_per_app: self.max_runs_per_app,
            ..RunPolicy::default()
        };
        let cluster = self.check_cluster(&listen)?;
        Ok(Settings {
            listen,
            ledger,
            runtime,
            log_format: self.log_format,
            workspace_root: self.workspace_root.unwrap_or_else(|| self.data_dir.join("workspaces")),
            acpx_home: self.acpx_home.unwrap_or_else(|| self.data_dir.join("acpx-home")),
            data_dir: self.data_dir,
            acpx_bin: self.acpx_bin,
            acpx_queue_ttl_secs: self.acpx_queue_ttl_secs,
            claude_bin: self.claude_bin,
            builtin_agents: self.builtin_agents,
            agents: self.agents,
            allowed_roots: self.allowed_roots,
            sessions,
            runs,
            sweep_interval: secs(self.sweep_interval_secs),
            shutdown_grace: secs(self.shutdown_grace_secs),
            header_timeout: secs(self.header_timeout_secs),
            body_timeout: secs(self.body_timeout_secs),
            max_connections: self.max_connections,
            agent_idle: secs(self.agent_idle_secs),
            max_turn_output_bytes: self.max_turn_output_bytes,
            stream_keep_alive: secs(self.stream_keep_alive_secs),
            metrics,
            cluster,
        })
    }

    /// Checks the cluster keys; a gateway with no `node_id` gets a random one.
    fn check_cluster(&self, listen: &SocketAddr) -> Result<Option<ClusterSettings>, ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key} {why}")));
        if self.heartbeat_secs == 0 {
            return bad("heartbeat_secs", "must be at least 1");
        }
        if self.node_dead_secs < self.heartbeat_secs.saturating_mul(2) {
            return bad("node_dead_secs", "must be at least twice heartbeat_secs");
        }
        let postgres = self.ledger == LedgerKind::Postgres;
        if let Some(secret) = &self.cluster_secret {
            if !postgres {
                return bad("cluster_secret", "only applies to ledger = \"postgres\" (gateways that share a database)");
            }
            if secret.0.trim().len() < 16 || secret.0.chars().any(|c| c.is_control()) {
                return bad("cluster_secret", "must have at least 16 characters and no control characters");
            }
            // acpx's queue owners live outside the gateway: the fence could not
            // stop them, and another gateway could not take their sessions over.
            if self.agent_runtime == RuntimeKind::Acpx {
                return bad(
                    "cluster_secret",
                    "needs agent_runtime = \"acp\": acpx agents cannot be fenced or taken over by another gateway",
                );
            }
        }
        if let Some(id) = &self.node_id {
            if clawdforge_domain::ownership::NodeId::new(id.as_str()).is_err() {
                return bad(
                    "node_id",
                    "must be 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit",
                );
            }
        }
        if let Some(url) = &self.advertise_url {
            if !is_base_url(url) {
                return bad(
                    "advertise_url",
                    "must be a base URL like http://10.0.0.5:8765 (scheme, host, port; no path)",
                );
            }
        }
        let Some(secret) = self.cluster_secret.clone() else { return Ok(None) };
        if self.advertise_url.is_none() && listen.ip().is_unspecified() {
            return bad(
                "advertise_url",
                "must be set when listen is a wildcard address (the others cannot reach 0.0.0.0)",
            );
        }
        Ok(Some(ClusterSettings {
            node_id: self.node_id.clone().unwrap_or_else(random_node_id),
            advertise_url: self.advertise_url.clone(),
            secret,
            heartbeat: Duration::from_secs(self.heartbeat_secs),
            node_dead: Duration::from_secs(self.node_dead_secs),
        }))
    }
}

/// `http(s)://host[:port][/]`, nothing more.
fn is_base_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']) && !host.chars().any(|c| c.is_control())
}

/// `gw-` and 12 random characters.
fn random_node_id() -> String {
    use clawdforge_domain::ports::IdSource;
    let id = clawdforge_adapters::ids::RandomIds.session_id();
    format!("gw-{}", id.as_str().chars().filter(char::is_ascii_alphanumeric).take(12).collect::<String>())
}

/// figment's error, reduced to one sentence that names the key and where it came from.
fn one_sentence(e: &figment::Error) -> String {
    let mut s = e.kind.to_string();
    if !e.path.is_empty() {
        s = format!("{}: {s}", e.path.join("."));
    }
    if let Some(meta) = &e.metadata {
        s.push_str(&format!(" (from {})", meta.name));
    }
    s
}

#[cfg(test)]
// figment's Jail fixes the closure's error type to its own large error.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    type Mutation = fn(&mut Config);

    fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
        let mut out = None;
        figment::Jail::expect_with(|jail| {
            for (k, v) in vars {
                jail.set_env(k, v);
            }
            out = Some(f());
            Ok(())
        });
        out.expect("the jail ran the closure")
    }

    #[test]
    fn the_defaults_are_a_valid_configuration() {
        let s = with_env(&[], || Config::load(None, &FlagOverrides::default())).expect("loads").check().expect("valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8765");
        assert_eq!(s.ledger, LedgerChoice::Sqlite(PathBuf::from(".clawdforge/ledger.sqlite3")));
        assert_eq!(s.workspace_root, PathBuf::from(".clawdforge/workspaces"));
    }

    #[test]
    fn the_environment_overrides_the_file_and_flags_override_both() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "max_live_sessions = 3\nlisten = \"127.0.0.1:1\"\n[agents]\nmine = \"my-agent --x\"\n",
            )?;
            jail.set_env("CLAWDFORGE_MAX_LIVE_SESSIONS", "7");
            let flags = FlagOverrides { listen: Some("127.0.0.1:2".into()), ..FlagOverrides::default() };
            let c = Config::load(Some(Path::new("c.toml")), &flags).expect("loads");
            assert_eq!(c.max_live_sessions, 7);
            assert_eq!(c.listen, "127.0.0.1:2");
            assert_eq!(c.agents.get("mine").map(String::as_str), Some("my-agent --x"));
            Ok(())
        });
    }

    #[test]
    fn a_wrongly_typed_value_is_one_sentence_naming_the_key() {
        let e = with_env(&[("CLAWDFORGE_MAX_LIVE_SESSIONS", "lots")], || Config::load(None, &FlagOverrides::default()))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("max_live_sessions"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "max_live_sesions = 3\n")?;
            let e =
                Config::load(Some(Path::new("c.toml")), &FlagOverrides::default()).expect_err("refused").to_string();
            assert!(e.contains("max_live_sesions"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn the_postgres_ledger_takes_its_url_from_the_environment() {
        let vars = [("CLAWDFORGE_LEDGER", "postgres"), ("CLAWDFORGE_DATABASE_URL", "postgres://u@h/d")];
        let s =
            with_env(&vars, || Config::load(None, &FlagOverrides::default())).expect("loads").check().expect("valid");
        assert_eq!(s.ledger, LedgerChoice::Postgres("postgres://u@h/d".into()));
    }

    #[test]
    fn a_missing_config_file_is_refused() {
        let e = Config::load(Some(Path::new("/nonexistent/c.toml")), &FlagOverrides::default()).expect_err("refused");
        assert!(e.to_string().contains("/nonexistent/c.toml"));
    }

    #[test]
    fn values_out_of_range_name_their_key() {
        let cases: [(Mutation, &str); 7] = [
            (|c| c.listen = "nowhere".into(), "listen"),
            (|c| c.max_live_sessions = 0, "max_live_sessions"),
            (|c| c.ledger = LedgerKind::Postgres, "database_url"),
            (|c| c.allowed_roots = vec!["rel".into()], "allowed_roots"),
            (|c| c.run_timeout_secs = 99_999, "run_timeout_secs"),
            (
                |c| {
                    c.permission_mode = PermissionMode::Ask;
                    c.agent_runtime = RuntimeKind::Acpx;
                },
                "permission_mode",
            ),
            (|c| c.stream_keep_alive_secs = 0, "stream_keep_alive_secs"),
        ];
        for (mutate, key) in cases {
            let mut c = Config::default();
            mutate(&mut c);
            let e = c.check().expect_err("refused").to_string();
            assert!(e.starts_with(&format!("invalid configuration: {key} ")), "{key}: {e}");
        }
    }

    #[test]
    fn an_unknown_name_for_an_enumerated_key_is_one_sentence_naming_the_key() {
        for (var, value, key) in [
            ("CLAWDFORGE_LEDGER", "mysql", "ledger"),
            ("CLAWDFORGE_AGENT_RUNTIME", "node", "agent_runtime"),
            ("CLAWDFORGE_PERMISSION_MODE", "yolo", "permission_mode"),
            ("CLAWDFORGE_LOG_FORMAT", "xml", "log_format"),
        ] {
            let e = with_env(&[(var, value)], || Config::load(None, &FlagOverrides::default()))
                .expect_err("refused")
                .to_string();
            assert!(e.starts_with(&format!("invalid configuration: {key}: ")), "{key}: {e}");
            assert!(e.contains(value) && !e.contains('\n'), "{key}: {e}");
        }
        let flags = FlagOverrides { ledger: Some("mysql".into()), ..FlagOverrides::default() };
        let e = with_env(&[], || Config::load(None, &flags)).expect_err("refused").to_string();
        assert!(e.starts_with("invalid configuration: ledger: "), "{e}");
    }

    #[test]
    fn the_defaults_are_the_policies_own() {
        let s = Config::default().check().expect("valid");
        assert_eq!(s.sessions, SessionPolicy::default());
        assert_eq!(s.runs, RunPolicy::default());
        assert_eq!(s.runtime, RuntimeChoice::Acp(Permissions::ApproveReads));
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.metrics, None);
    }

    #[test]
    fn metrics_settings_are_checked() {
        let cases: [(Mutation, &str); 2] = [
            (|c| c.metrics_listen = Some("anywhere".into()), "metrics_listen"),
            (|c| c.metrics_token = Some("short".into()), "metrics_token"),
        ];
        for (mutate, key) in cases {
            let mut c = Config::default();
            mutate(&mut c);
            let e = c.check().expect_err("refused").to_string();
            assert!(e.starts_with(&format!("invalid configuration: {key} ")), "{key}: {e}");
        }
        let c = Config {
            metrics_listen: Some("127.0.0.1:0".into()),
            metrics_token: Some("0123456789abcdef".into()),
            ..Config::default()
        };
        assert!(c.check().is_ok());
    }
}

#[cfg(test)]
mod runtime_tests {
    use super::*;

    #[test]
    fn acp_is_the_default_runtime_and_ask_needs_it() {
        assert_eq!(Config::default().agent_runtime, RuntimeKind::Acp);
        let mut c = Config { permission_mode: PermissionMode::Ask, ..Config::default() };
        assert_eq!(c.clone().check().expect("valid").runtime, RuntimeChoice::Acp(Permissions::Ask));
        c.agent_runtime = RuntimeKind::Acpx;
        let e = c.check().expect_err("refused").to_string();
        assert!(e.starts_with("invalid configuration: permission_mode "), "{e}");
        for (key, c) in [
            ("agent_idle_secs", Config { agent_idle_secs: 0, ..Config::default() }),
            ("cancel_grace_secs", Config { cancel_grace_secs: 0, ..Config::default() }),
            ("max_turn_output_bytes", Config { max_turn_output_bytes: 0, ..Config::default() }),
        ] {
            let e = c.check().expect_err("refused").to_string();
            assert!(e.starts_with(&format!("invalid configuration: {key} ")), "{key}: {e}");
        }
    }
}

#[cfg(test)]
mod cluster_tests {
    use super::*;

    fn postgres() -> Config {
        Config { ledger: LedgerKind::Postgres, database_url: Some("postgres://u@h/d".into()), ..Config::default() }
    }

    #[test]
    fn a_cluster_is_postgres_with_a_secret_and_a_node_gets_a_random_id_when_it_has_none() {
        let plain = postgres().check().expect("valid");
        assert!(plain.cluster.is_none());
        let c = Config { cluster_secret: Some(Secret("0123456789abcdef".into())), ..postgres() };
        let (one, two) = (c.clone().check().expect("valid"), c.check().expect("valid"));
        let (one, two) = (one.cluster.expect("in a cluster"), two.cluster.expect("in a cluster"));
        assert!(one.node_id.starts_with("gw-") && one.node_id.len() == 15, "{}", one.node_id);
        assert_ne!(one.node_id, two.node_id);
        assert_eq!((one.heartbeat, one.node_dead), (Duration::from_secs(5), Duration::from_secs(15)));
    }

    #[test]
    fn the_secret_is_never_shown_by_debug() {
        let c = Config { cluster_secret: Some(Secret("0123456789abcdef-hush".into())), ..postgres() };
        assert!(!format!("{c:?}").contains("hush"));
        assert!(!format!("{:?}", c.check().expect("valid")).contains("hush"));
    }

    #[test]
    fn cluster_keys_out_of_range_name_their_key() {
        let secret = || Some(Secret("0123456789abcdef".into()));
        let cases: [(Config, &str); 8] = [
            (Config { cluster_secret: secret(), ..Config::default() }, "cluster_secret"),
            (Config { cluster_secret: secret(), agent_runtime: RuntimeKind::Acpx, ..postgres() }, "cluster_secret"),
            (Config { cluster_secret: Some(Secret("short".into())), ..postgres() }, "cluster_secret"),
            (Config { node_id: Some("-bad".into()), ..postgres() }, "node_id"),
            (Config { advertise_url: Some("10.0.0.1:8765".into()), ..postgres() }, "advertise_url"),
            (Config { advertise_url: Some("http://h:1/path".into()), ..postgres() }, "advertise_url"),
            (Config { cluster_secret: secret(), listen: "0.0.0.0:8765".into(), ..postgres() }, "advertise_url"),
            (Config { heartbeat_secs: 5, node_dead_secs: 9, ..postgres() }, "node_dead_secs"),
        ];
        for (c, key) in cases {
            let e = c.check().expect_err("refused").to_string();
            assert!(e.starts_with(&format!("invalid configuration: {key} ")), "{key}: {e}");
        }
        let ok = Config {
            cluster_secret: secret(),
            listen: "0.0.0.0:8765".into(),
            advertise_url: Some("https://gw-1.internal:8765/".into()),
            node_id: Some("gw-1".into()),
            ..postgres()
        };
        assert_eq!(ok.check().expect("valid").cluster.expect("in a cluster").node_id, "gw-1");
    }
}
