//! Configuration: embedded defaults, then an optional TOML file, then
//! `CLAWDFORGE_*` environment variables, then command-line flags.
//!
//! Loading reads; it never creates a file or a directory.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Every setting, as the layers give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// Where the ledger, the workspaces and acpx's state live by default.
    pub data_dir: PathBuf,
    /// `sqlite`, `postgres` or `memory`.
    pub ledger: String,
    /// The SQLite file (default `<data_dir>/ledger.sqlite3`).
    pub ledger_path: Option<PathBuf>,
    /// `acp` (the gateway runs the agents itself), `acpx` (through the acpx CLI), or `noop` (for benchmarks).
    pub agent_runtime: String,
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
    /// `approve-all`, `approve-reads` or `deny-all`.
    pub permission_mode: String,
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
    pub log_format: String,
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
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8765".into(),
            data_dir: PathBuf::from(".clawdforge"),
            ledger: "sqlite".into(),
            ledger_path: None,
            agent_runtime: "acp".into(),
            workspace_root: None,
            acpx_bin: None,
            acpx_home: None,
            acpx_queue_ttl_secs: None,
            claude_bin: PathBuf::from("claude"),
            builtin_agents: vec!["claude".into(), "codex".into(), "gemini".into()],
            agents: BTreeMap::new(),
            permission_mode: "approve-reads".into(),
            max_live_sessions: 64,
            max_sessions_per_app: 16,
            session_ttl_secs: 1800,
            session_hard_ttl_secs: 7 * 24 * 3600,
            sweep_interval_secs: 60,
            turn_timeout_secs: 600,
            max_prompt_bytes: 256 * 1024,
            allowed_roots: Vec::new(),
            run_timeout_secs: 300,
            run_max_timeout_secs: 1800,
            shutdown_grace_secs: 30,
            log_format: "text".into(),
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 1024,
            max_concurrent_runs: 8,
            max_runs_per_app: 4,
            agent_idle_secs: 300,
            cancel_grace_secs: 5,
            max_turn_output_bytes: 8 * 1024 * 1024,
            database_url: None,
            permission_timeout_secs: 60,
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
    /// `--ledger`.
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

/// Which ledger backend to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChoice {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// In memory, gone at exit.
    Memory,
    /// A Postgres database (its URL), which several gateways may share.
    Postgres(String),
}

/// The configuration, checked and with every default resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The raw layered values.
    pub raw: Config,
    /// Parsed `listen`.
    pub listen: SocketAddr,
    /// The ledger.
    pub ledger: LedgerChoice,
    /// Workspace root.
    pub workspace_root: PathBuf,
    /// acpx's HOME.
    pub acpx_home: PathBuf,
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
        let ledger = match self.ledger.as_str() {
            "sqlite" => {
                LedgerChoice::Sqlite(self.ledger_path.clone().unwrap_or_else(|| self.data_dir.join("ledger.sqlite3")))
            }
            "memory" => LedgerChoice::Memory,
            "postgres" => match self.database_url.as_deref().map(str::trim) {
                Some(url) if !url.is_empty() => LedgerChoice::Postgres(url.to_owned()),
                _ => return bad("database_url", "must be set when ledger is postgres".into()),
            },
            other => return bad("ledger", format!("must be sqlite, postgres or memory, not {other:?}")),
        };
        if !matches!(self.permission_mode.as_str(), "approve-all" | "approve-reads" | "deny-all" | "ask") {
            return bad(
                "permission_mode",
                format!("must be approve-all, approve-reads, deny-all or ask, not {:?}", self.permission_mode),
            );
        }
        if self.permission_mode == "ask" && self.agent_runtime != "acp" {
            return bad(
                "permission_mode",
                "ask needs the acp agent runtime: acpx answers permission requests itself and cannot ask the client"
                    .into(),
            );
        }
        if !matches!(self.agent_runtime.as_str(), "acp" | "acpx" | "noop") {
            return bad("agent_runtime", format!("must be acp, acpx or noop, not {:?}", self.agent_runtime));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format", format!("must be text or json, not {:?}", self.log_format));
        }
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
        if let Some(addr) = &self.metrics_listen {
            if addr.parse::<SocketAddr>().is_err() {
                return bad("metrics_listen", format!("must be an address like 127.0.0.1:9090, not {addr:?}"));
            }
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.trim().len() < 16) {
            return bad("metrics_token", "must have at least 16 characters".into());
        }
        let mut this = self;
        this.check_cluster(&listen)?;
        let workspace_root = this.workspace_root.clone().unwrap_or_else(|| this.data_dir.join("workspaces"));
        let acpx_home = this.acpx_home.clone().unwrap_or_else(|| this.data_dir.join("acpx-home"));
        Ok(Settings { raw: this, listen, ledger, workspace_root, acpx_home })
    }

    /// Whether this gateway shares its ledger with others: Postgres and a `cluster_secret`.
    pub fn in_cluster(&self) -> bool {
        self.ledger == "postgres" && self.cluster_secret.is_some()
    }

    /// Checks the cluster keys, and gives the node a random id when it has none.
    fn check_cluster(&mut self, listen: &SocketAddr) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key} {why}")));
        if self.heartbeat_secs == 0 {
            return bad("heartbeat_secs", "must be at least 1");
        }
        if self.node_dead_secs < self.heartbeat_secs.saturating_mul(2) {
            return bad("node_dead_secs", "must be at least twice heartbeat_secs");
        }
        if let Some(secret) = &self.cluster_secret {
            if self.ledger != "postgres" {
                return bad("cluster_secret", "only applies to ledger = \"postgres\" (gateways that share a database)");
            }
            if secret.0.trim().len() < 16 || secret.0.chars().any(|c| c.is_control()) {
                return bad("cluster_secret", "must have at least 16 characters and no control characters");
            }
        }
        match &self.node_id {
            Some(id) => {
                if clawdforge_domain::ownership::NodeId::new(id.as_str()).is_err() {
                    return bad(
                        "node_id",
                        "must be 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit",
                    );
                }
            }
            None => self.node_id = Some(random_node_id()),
        }
        if let Some(url) = &self.advertise_url {
            if !is_base_url(url) {
                return bad(
                    "advertise_url",
                    "must be a base URL like http://10.0.0.5:8765 (scheme, host, port; no path)",
                );
            }
        } else if self.in_cluster() && listen.ip().is_unspecified() {
            return bad(
                "advertise_url",
                "must be set when listen is a wildcard address (the others cannot reach 0.0.0.0)",
            );
        }
        Ok(())
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
        let cases: [(Mutation, &str); 9] = [
            (|c| c.listen = "nowhere".into(), "listen"),
            (|c| c.max_live_sessions = 0, "max_live_sessions"),
            (|c| c.permission_mode = "yolo".into(), "permission_mode"),
            (|c| c.ledger = "mysql".into(), "ledger"),
            (|c| c.ledger = "postgres".into(), "database_url"),
            (|c| c.allowed_roots = vec!["rel".into()], "allowed_roots"),
            (|c| c.run_timeout_secs = 99_999, "run_timeout_secs"),
            (
                |c| {
                    c.permission_mode = "ask".into();
                    c.agent_runtime = "acpx".into();
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
        assert_eq!(Config::default().agent_runtime, "acp");
        let mut c = Config { permission_mode: "ask".into(), ..Config::default() };
        assert!(c.clone().check().is_ok());
        c.agent_runtime = "acpx".into();
        let e = c.check().expect_err("refused").to_string();
        assert!(e.starts_with("invalid configuration: permission_mode "), "{e}");
        for (key, c) in [
            ("agent_runtime", Config { agent_runtime: "node".into(), ..Config::default() }),
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
        Config { ledger: "postgres".into(), database_url: Some("postgres://u@h/d".into()), ..Config::default() }
    }

    #[test]
    fn a_cluster_is_postgres_with_a_secret_and_a_node_gets_a_random_id_when_it_has_none() {
        let plain = postgres().check().expect("valid");
        assert!(!plain.raw.in_cluster());
        let c = Config { cluster_secret: Some(Secret("0123456789abcdef".into())), ..postgres() };
        let (one, two) = (c.clone().check().expect("valid"), c.check().expect("valid"));
        assert!(one.raw.in_cluster());
        let id = one.raw.node_id.clone().expect("an id");
        assert!(id.starts_with("gw-") && id.len() == 15, "{id}");
        assert_ne!(one.raw.node_id, two.raw.node_id);
        assert_eq!((one.raw.heartbeat_secs, one.raw.node_dead_secs), (5, 15));
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
        let cases: [(Config, &str); 7] = [
            (Config { cluster_secret: secret(), ..Config::default() }, "cluster_secret"),
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
        assert_eq!(ok.check().expect("valid").raw.node_id.as_deref(), Some("gw-1"));
    }
}
