//! The composition root: builds the adapters from the checked [`Settings`]
//! and hands them to the core.

use crate::config::{LedgerChoice, RuntimeChoice, Settings};
use anyhow::Context;
use clawdforge_adapters::clock::SystemClock;
use clawdforge_adapters::http::cluster::{Cluster, ClusterSecret, Fence};
use clawdforge_adapters::ids::RandomIds;
use clawdforge_adapters::ledger::{MemoryLedger, PgLedger, SqliteLedger};
use clawdforge_adapters::live::LiveProcesses;
use clawdforge_adapters::metrics::{MeteredLedger, MeteredRunner, MeteredRuntime, Metrics, MetricsConfig};
use clawdforge_adapters::paths::CanonicalPaths;
use clawdforge_adapters::runner::claude::{ClaudeConfig, ClaudeRunner};
use clawdforge_adapters::runtime::acp::{registry, AcpConfig, AcpRuntime, Permissions};
use clawdforge_adapters::runtime::acpx::{
    builtin_is_installed, installed_executable, AcpxConfig, AcpxRuntime, AgentCommand,
};
use clawdforge_adapters::runtime::noop::NoopRuntime;
use clawdforge_domain::model::AgentName;
use clawdforge_domain::ownership::{NodeId, NodeRecord, Ownership};
use clawdforge_domain::ports::{AgentRuntime, Clock, IdSource, Ledger, OneShotRunner};
use clawdforge_domain::{Apps, Runs, SessionPolicy, Sessions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The use cases, wired to their adapters.
pub struct Core {
    /// Apps and tokens.
    pub apps: Arc<Apps>,
    /// The session surface.
    pub sessions: Arc<Sessions>,
    /// One-shot runs.
    pub runs: Arc<Runs>,
    /// The acpx runtime (when chosen), kept to wait for its background work at exit.
    pub acpx: Option<Arc<AcpxRuntime>>,
    /// The native ACP runtime (when chosen), kept to stop its agents at exit.
    pub acp: Option<Arc<AcpRuntime>>,
    /// The metrics, when `metrics_listen` or `metrics_token` asks for them.
    pub metrics: Option<Arc<Metrics>>,
}

/// Opens the configured ledger, creating the SQLite file's directory if needed
/// (connecting and migrating, for Postgres).
pub fn open_ledger(settings: &Settings) -> anyhow::Result<Arc<dyn Ledger>> {
    match &settings.ledger {
        LedgerChoice::Memory => Ok(Arc::new(MemoryLedger::new())),
        LedgerChoice::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the ledger directory {}", dir.display()))?;
            }
            let ledger = SqliteLedger::open(path)?;
            make_private(path);
            Ok(Arc::new(ledger))
        }
        LedgerChoice::Postgres(url) => {
            let ledger = PgLedger::open(url)?;
            Ok(Arc::new(match &settings.cluster {
                // In a cluster, the sessions this gateway creates are its own from their insert on.
                Some(cluster) => ledger.owned_by(node_id(&cluster.node_id)?),
                None => ledger,
            }))
        }
    }
}

/// A ledger file created by an older version is made private too (new ones are, by the umask).
fn make_private(ledger: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = ledger.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
    }
}

/// The apps use case alone (for the `app` commands).
pub fn apps(ledger: Arc<dyn Ledger>) -> Apps {
    Apps::new(ledger, Arc::new(SystemClock), Arc::new(RandomIds))
}

/// Builds every use case over the given ledger.
pub fn build(settings: &Settings, ledger: Arc<dyn Ledger>) -> anyhow::Result<Core> {
    let live = LiveProcesses::new();
    let metrics = settings.metrics.as_ref().map(|m| {
        let config = MetricsConfig {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            max_live_sessions: settings.sessions.max_live_sessions,
            max_sessions_per_app: settings.sessions.max_sessions_per_app,
            per_app: m.per_app,
        };
        Arc::new(Metrics::new(&config, live.clone()))
    });
    let ledger: Arc<dyn Ledger> = match &metrics {
        Some(m) => Arc::new(MeteredLedger::new(ledger, m.clone())),
        None => ledger,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds);
    let agents = agent_commands(settings)?;
    let (acpx, acp) = match settings.runtime {
        RuntimeChoice::Acpx(permissions) => {
            let acpx = AcpxRuntime::new(AcpxConfig {
                acpx_bin: acpx_bin(settings),
                workspace_root: absolute(&settings.workspace_root)?,
                state_home: absolute(&settings.acpx_home)?,
                agents: agents.clone(),
                permissions,
                queue_ttl_secs: settings.acpx_queue_ttl_secs,
                cancel_grace: settings.sessions.cancel_grace,
            })
            .with_max_turn_output(settings.max_turn_output_bytes)
            .with_live_processes(live.clone());
            (Some(Arc::new(acpx)), None)
        }
        RuntimeChoice::Acp(permissions) => (None, Some(acp_runtime(settings, &agents, permissions, live.clone())?)),
        RuntimeChoice::Noop => (None, None),
    };
    let mut runtime: Arc<dyn AgentRuntime> = match (&acpx, &acp) {
        (Some(a), _) => a.clone(),
        (_, Some(a)) => a.clone(),
        // The noop runtime runs no process, so it has nothing to count.
        _ => Arc::new(NoopRuntime),
    };
    if let Some(m) = &metrics {
        runtime = Arc::new(MeteredRuntime::new(runtime, m.clone()));
    }
    let policy = SessionPolicy {
        agents: agents.keys().filter_map(|n| AgentName::new(n.as_str()).ok()).collect(),
        ..settings.sessions.clone()
    };
    let sessions =
        Sessions::new(ledger.clone(), runtime, clock.clone(), ids.clone(), policy).with_paths(Arc::new(CanonicalPaths));
    let mut runner: Arc<dyn OneShotRunner> =
        Arc::new(ClaudeRunner::new(ClaudeConfig { claude_bin: settings.claude_bin.clone() }));
    if let Some(m) = &metrics {
        runner = Arc::new(MeteredRunner::new(runner, m.clone()));
    }
    Ok(Core {
        apps: Arc::new(Apps::new(ledger.clone(), clock.clone(), ids)),
        sessions: Arc::new(sessions),
        runs: Arc::new(Runs::new(ledger, runner, clock, settings.runs.clone())),
        acpx,
        acp,
        metrics,
    })
}

/// The native runtime: agents' HOME is acpx's (so logins made there serve
/// both runtimes), their ACP session ids where [`acp_state_dir`] says.
fn acp_runtime(
    settings: &Settings,
    agents: &BTreeMap<String, AgentCommand>,
    permissions: Permissions,
    live: LiveProcesses,
) -> anyhow::Result<Arc<AcpRuntime>> {
    Ok(Arc::new(AcpRuntime::with_live_processes(
        AcpConfig {
            workspace_root: absolute(&settings.workspace_root)?,
            agent_home: absolute(&settings.acpx_home)?,
            state_dir: absolute(&acp_state_dir(settings))?,
            agents: agents.clone(),
            node_modules: node_modules_dirs(),
            permissions,
            allowed_roots: settings.allowed_roots.clone(),
            idle: settings.agent_idle,
            cancel_grace: settings.sessions.cancel_grace,
            max_turn_output_bytes: settings.max_turn_output_bytes,
            max_live: settings.sessions.max_live_sessions as usize,
        },
        live,
    )))
}

/// Where the native runtime keeps each session's ACP session id: in the
/// data directory; in a cluster, beside the workspaces (`<workspace_root>/.acp-sessions`,
/// a name no app can take), so that a gateway taking a session over finds it
/// wherever `workspace_root` is shared storage and resumes with `session/load`.
fn acp_state_dir(settings: &Settings) -> PathBuf {
    match settings.cluster {
        Some(_) => settings.workspace_root.join(".acp-sessions"),
        None => settings.data_dir.join("acp-sessions"),
    }
}

fn node_id(id: &str) -> anyhow::Result<NodeId> {
    NodeId::new(id).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// One gateway's place among those sharing a Postgres ledger.
pub struct ClusterNode {
    /// The forwarding middleware's state.
    pub cluster: Arc<Cluster>,
    /// Raised while the heartbeat cannot be written.
    pub fence: Arc<Fence>,
    /// This gateway as its heartbeat records it.
    pub record: NodeRecord,
    /// How often the heartbeat is written.
    pub every: std::time::Duration,
}

/// The cluster this gateway is in, when `ledger = "postgres"` and a
/// `cluster_secret` put it in one; `bound` is the address it listens on.
pub fn cluster_node(
    settings: &Settings,
    ledger: Arc<dyn Ledger>,
    bound: std::net::SocketAddr,
) -> anyhow::Result<Option<ClusterNode>> {
    let Some(c) = &settings.cluster else { return Ok(None) };
    let me = node_id(&c.node_id)?;
    let url = c.advertise_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let url = url.trim_end_matches('/').to_owned();
    let ownership = Ownership { me: me.clone(), dead_after: c.node_dead };
    let fence = Arc::new(Fence::new(ownership.clone(), c.heartbeat));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cluster = Cluster::new(ledger, clock.clone(), ownership, ClusterSecret::new(c.secret.0.clone()), fence.clone())
        .map_err(anyhow::Error::msg)?;
    Ok(Some(ClusterNode {
        cluster: Arc::new(cluster),
        fence,
        record: NodeRecord { id: me, url, heartbeat_at: clock.now() },
        every: c.heartbeat,
    }))
}

/// Where installed built-in agents are looked for: `node_modules` in the
/// working directory and in the binary's checkout.
fn node_modules_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("node_modules")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(root) = exe.parent().and_then(|p| p.parent()).and_then(|p| p.parent()) {
            dirs.push(root.join("node_modules"));
        }
    }
    dirs.into_iter().filter(|d| d.is_dir()).filter_map(|d| std::path::absolute(d).ok()).collect()
}

/// acpx's built-ins, the configured custom agents, and the bundled `echo` agent.
fn agent_commands(settings: &Settings) -> anyhow::Result<BTreeMap<String, AgentCommand>> {
    // A built-in that acpx would download on demand is not offered: a client
    // request must not set off a download (README: built-in agents).
    let path = std::env::var_os("PATH");
    let mut agents: BTreeMap<String, AgentCommand> = BTreeMap::new();
    for name in &settings.builtin_agents {
        // The native runtime also finds a built-in's adapter under node_modules.
        let native =
            matches!(settings.runtime, RuntimeChoice::Acp(_)) && registry::resolve(name, &node_modules_dirs()).is_ok();
        if native || builtin_is_installed(name, path.as_deref()) {
            agents.insert(name.clone(), AgentCommand::Builtin(name.clone()));
        } else {
            let exe = installed_executable(name).unwrap_or_default();
            tracing::warn!(agent = %name, executable = exe, "built-in agent not offered: its executable is not on the PATH");
        }
    }
    if !settings.agents.contains_key("echo") {
        let exe = std::env::current_exe().context("cannot locate the clawdforge binary")?;
        agents.insert("echo".into(), AgentCommand::Custom(format!("{} echo-agent", exe.display())));
    }
    for (name, cmd) in &settings.agents {
        agents.insert(name.clone(), AgentCommand::Custom(cmd.clone()));
    }
    Ok(agents)
}

/// The configured acpx, else the project's pinned install next to the working
/// directory or the binary's checkout, else `acpx` on the PATH.
fn acpx_bin(settings: &Settings) -> PathBuf {
    if let Some(bin) = &settings.acpx_bin {
        return bin.clone();
    }
    let pinned = PathBuf::from("node_modules/.bin/acpx");
    let mut candidates = vec![pinned.clone()];
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/clawdforge → the checkout's root.
        if let Some(root) = exe.parent().and_then(|p| p.parent()).and_then(|p| p.parent()) {
            candidates.push(root.join(&pinned));
        }
    }
    candidates
        .into_iter()
        .find(|c| c.is_file())
        .and_then(|c| std::path::absolute(c).ok())
        .unwrap_or_else(|| PathBuf::from("acpx"))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

impl Core {
    /// Lets the runtime's background work (agent-side closes) finish.
    pub async fn wait_idle(&self) {
        if let Some(acpx) = &self.acpx {
            acpx.wait_idle().await;
        }
        if let Some(acp) = &self.acp {
            acp.shutdown().await;
        }
    }
}
