//! The operator's one-shot commands: `app ...` and `sweep`.

use crate::cli::AppCommand;
use crate::config::Settings;
use crate::wiring;
use clawdforge_domain::ports::Ledger;
use std::sync::Arc;

/// Runs an `app` subcommand.
pub async fn app(ledger: Arc<dyn Ledger>, cmd: AppCommand) -> anyhow::Result<()> {
    let apps = wiring::apps(ledger);
    match cmd {
        AppCommand::Add { name } => {
            let (name, token) = apps.add(&name).await?;
            println!("added app {name}; its bearer token (shown once, store it now):");
            println!("{}", token.expose());
        }
        AppCommand::List => {
            println!("{:<32} {:<12} {:<12}", "NAME", "CREATED", "REVOKED");
            for a in apps.list().await? {
                let revoked = a.revoked_at.map(|t| t.as_secs().to_string()).unwrap_or_else(|| "-".into());
                println!("{:<32} {:<12} {:<12}", a.name, a.created_at.as_secs(), revoked);
            }
        }
        AppCommand::Revoke { name } => {
            apps.revoke(&name).await?;
            println!("revoked app {name}");
        }
        AppCommand::Rotate { name } => {
            let token = apps.rotate(&name).await?;
            println!("rotated the token of app {name}; the new token (shown once, store it now):");
            println!("{}", token.expose());
        }
    }
    Ok(())
}

/// Runs one sweep pass and prints `{soft_closed, hard_deleted}`.
pub async fn sweep(settings: &Settings, ledger: Arc<dyn Ledger>) -> anyhow::Result<()> {
    let core = wiring::build(settings, ledger)?;
    let report = core.sessions.sweep_once().await?;
    // The agent-side closes run in the background; let them finish before exiting.
    core.wait_idle().await;
    println!("{}", serde_json::json!({ "soft_closed": report.soft_closed, "hard_deleted": report.hard_deleted }));
    Ok(())
}
