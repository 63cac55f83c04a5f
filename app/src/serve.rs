//! `clawdforge serve`: the HTTP server, the sweeper, and graceful shutdown.

use crate::config::LedgerChoice;
use crate::config::Settings;
use crate::wiring;
use anyhow::Context;
use clawdforge_adapters::clock::SystemClock;
use clawdforge_adapters::http::cluster::Fence;
use clawdforge_adapters::http::{
    api_routes_in_cluster, metrics_routes, serve as serve_http, ConnectionLimits, HttpConfig, HttpState, MetricsRoute,
};
use clawdforge_adapters::runtime::acp::AcpRuntime;
use clawdforge_domain::model::Timestamp;
use clawdforge_domain::ownership::NodeRecord;
use clawdforge_domain::ports::{Clock, Ledger};
use clawdforge_domain::Sessions;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// Serves until SIGTERM or Ctrl-C, then lets running requests finish within the grace period.
pub async fn serve(settings: Settings, ledger: Arc<dyn Ledger>) -> anyhow::Result<()> {
    let core = wiring::build(&settings, ledger.clone())?;
    if let Some((name, token)) = core.apps.ensure_default().await? {
        println!("created app {name}; its bearer token (shown once, store it now):");
        println!("{}", token.expose());
    }
    let limits =
        ConnectionLimits { header_timeout: settings.header_timeout, max_connections: settings.max_connections };
    let grace = settings.shutdown_grace;
    let metrics_listen = settings.metrics.as_ref().and_then(|m| m.listen);
    let metrics_server = match (&core.metrics, metrics_listen) {
        (Some(metrics), Some(addr)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for metrics"))?;
            let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
            println!("metrics on http://{bound}/metrics");
            let routes = metrics_routes(metrics.clone(), core.sessions.clone());
            Some(tokio::spawn(async move {
                if let Err(e) =
                    serve_http(listener, routes, limits, std::future::pending(), grace, async {}, Duration::ZERO).await
                {
                    warn!(error = %e, "the metrics server failed");
                }
            }))
        }
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| settings.listen.to_string());
    let addr = listener.local_addr().context("cannot read the listening address")?;
    let node = wiring::cluster_node(&settings, ledger.clone(), addr)?;
    let heartbeat = match &node {
        Some(node) => {
            // The first heartbeat before the first request: the others can reach this gateway at once.
            match ledger.heartbeat(&node.record).await {
                Ok(()) => node.fence.written(),
                Err(e) => warn!(error = %e, "the first heartbeat was not written"),
            }
            info!(node = %node.record.id, url = node.record.url.as_str(), "in a cluster");
            Some(tokio::spawn(heartbeat_forever(
                ledger.clone(),
                node.record.clone(),
                node.every,
                node.fence.clone(),
                core.acp.clone(),
            )))
        }
        None if matches!(settings.ledger, LedgerChoice::Postgres(_)) => {
            warn!("no cluster_secret: sessions are not forwarded; route each session's requests to the gateway that opened it");
            None
        }
        None => None,
    };
    println!("clawdforge {} listening on http://{bound}", env!("CARGO_PKG_VERSION"));

    let sweeper = tokio::spawn(sweep_forever(core.sessions.clone(), settings.sweep_interval));
    let state = HttpState {
        apps: core.apps.clone(),
        sessions: core.sessions.clone(),
        runs: core.runs.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let http = HttpConfig {
        body_timeout: settings.body_timeout,
        keep_alive: settings.stream_keep_alive,
        ..HttpConfig::for_max_prompt(settings.sessions.max_prompt_bytes)
    };
    let token = settings.metrics.as_ref().and_then(|m| m.token.clone());
    let metrics_route = core.metrics.clone().map(|metrics| MetricsRoute { metrics, token });
    let routes = api_routes_in_cluster(state, http, metrics_route, node.as_ref().map(|n| n.cluster.clone()));
    // Turns still running past the grace are cut off: each is recorded as
    // failed (reason `shutdown`) and its agent stopped, and its client is
    // answered (502, saying so) while the connection is still there; the
    // agent may take `cancel_grace` to stop before it is killed.
    let cut_off = async {
        let abandoned = core.sessions.abandon_running("shutdown").await;
        if abandoned > 0 {
            warn!(turns = abandoned, "turns cut off by the shutdown were recorded as failed");
        }
    };
    let drain = settings.sessions.cancel_grace + Duration::from_secs(1);
    let result = serve_http(listener, routes, limits, shutdown_signal(), grace, cut_off, drain).await;
    sweeper.abort();
    if let Some(m) = metrics_server {
        m.abort();
    }
    // Turns that run with no request waiting (`wait: false`) are cut off too.
    let abandoned = core.sessions.abandon_running("shutdown").await;
    if abandoned > 0 {
        warn!(turns = abandoned, "turns cut off by the shutdown were recorded as failed");
    }
    core.wait_idle().await;
    if let (Some(task), Some(node)) = (heartbeat, &node) {
        task.abort();
        // Its agents are stopped: the others may take its sessions over at once.
        let retired = NodeRecord { heartbeat_at: Timestamp::from_millis(0), ..node.record.clone() };
        if let Err(e) = ledger.heartbeat(&retired).await {
            warn!(error = %e, "could not retire this gateway's heartbeat");
        }
    }
    info!("stopped");
    result.context("server failed")
}

async fn sweep_forever(sessions: Arc<Sessions>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sessions.sweep_once().await {
            Ok(r) if r.soft_closed + r.hard_deleted > 0 => {
                info!(soft_closed = r.soft_closed, hard_deleted = r.hard_deleted, "sweep")
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "sweep failed"),
        }
    }
}

/// Writes this gateway's heartbeat every `every`. When it has not been
/// written for so long that the others could soon think this gateway dead
/// (the fence is up), every agent is stopped before the next attempt, and
/// no session is served here until a heartbeat is written again: two
/// gateways never run one session's agent.
async fn heartbeat_forever(
    ledger: Arc<dyn Ledger>,
    me: NodeRecord,
    every: Duration,
    fence: Arc<Fence>,
    acp: Option<Arc<AcpRuntime>>,
) {
    let clock = SystemClock;
    let mut stopped = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if fence.is_up() && !stopped {
            warn!("no heartbeat for too long: stopping every agent; serving no session until one is written");
            if let Some(acp) = &acp {
                acp.shutdown().await;
            }
            stopped = true;
        }
        let beat = NodeRecord { heartbeat_at: clock.now(), ..me.clone() };
        match tokio::time::timeout(every, ledger.heartbeat(&beat)).await {
            Ok(Ok(())) => {
                fence.written();
                if std::mem::take(&mut stopped) {
                    info!("the heartbeat is written again: serving sessions");
                }
            }
            Ok(Err(e)) => warn!(error = %e, "the heartbeat was not written"),
            Err(_) => warn!("the heartbeat was not written in time"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("shutting down: no new connections; running requests may finish");
}
