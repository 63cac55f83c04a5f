//! `clawdforge serve`: the HTTP server, the sweeper, and graceful shutdown.

use crate::config::Settings;
use crate::wiring;
use clawdforge_adapters::http::{api_routes_with_metrics, metrics_routes, HttpConfig, HttpState, MetricsRoute};
use clawdforge_domain::Sessions;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// Starts logging to stderr; `RUST_LOG` refines the level.
pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Serves until SIGTERM or Ctrl-C, then lets running requests finish within the grace period.
pub async fn serve(settings: Settings) -> Result<(), String> {
    let ledger = wiring::open_ledger(&settings)?;
    let core = wiring::build(&settings, ledger)?;
    if let Some((name, token)) = core.apps.ensure_default().await.map_err(|e| e.to_string())? {
        println!("created app {name}; its bearer token (shown once, store it now):");
        println!("{}", token.expose());
    }
    let metrics_server = match (&core.metrics, &settings.raw.metrics_listen) {
        (Some(metrics), Some(addr)) => {
            let acceptor = TcpListener::bind(addr.as_str())
                .into_acceptor()
                .await
                .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
            let bound = acceptor.local_addr().first().map(ToString::to_string).unwrap_or_else(|| addr.clone());
            println!("metrics on http://{}/metrics", bound.trim_start_matches("socket://"));
            let routes = metrics_routes(metrics.clone(), core.sessions.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = Server::new_with_acceptor(acceptor).run(routes).await {
                    warn!(error = %e, "the metrics server failed");
                }
            }))
        }
        _ => None,
    };
    let acceptor = TcpListener::bind(settings.listen)
        .into_acceptor()
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let bound = acceptor.local_addr().first().map(ToString::to_string).unwrap_or_else(|| settings.listen.to_string());
    println!("clawdforge {} listening on http://{}", env!("CARGO_PKG_VERSION"), bound.trim_start_matches("socket://"));

    let sweeper =
        tokio::spawn(sweep_forever(core.sessions.clone(), Duration::from_secs(settings.raw.sweep_interval_secs)));
    let state = HttpState {
        apps: core.apps.clone(),
        sessions: core.sessions.clone(),
        runs: core.runs.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let http = HttpConfig::for_max_prompt(settings.raw.max_prompt_bytes);
    let metrics_route =
        core.metrics.clone().map(|metrics| MetricsRoute { metrics, token: settings.raw.metrics_token.clone() });
    let grace = Duration::from_secs(settings.raw.shutdown_grace_secs);
    let result = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(api_routes_with_metrics(state, http, metrics_route), shutdown_signal(), Some(grace))
        .await;
    sweeper.abort();
    if let Some(m) = metrics_server {
        m.abort();
    }
    core.wait_idle().await;
    info!("stopped");
    result.map_err(|e| format!("server failed: {e}"))
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
