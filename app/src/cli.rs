//! The command line.

use crate::config::FlagOverrides;
use crate::echo::EchoAgentArgs;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Self-hosted gateway for driving AI coding agents over HTTP.
#[derive(Debug, Parser)]
#[command(name = "clawdforge", version, about)]
pub struct Cli {
    /// Layers that override the config file and the environment.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A TOML config file (else `CLAWDFORGE_CONFIG`, else none).
    #[arg(long, global = true, env = "CLAWDFORGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the ledger, workspaces and acpx state live.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite`, `postgres` (with `database_url` / `CLAWDFORGE_DATABASE_URL`) or `memory`.
    #[arg(long, global = true)]
    pub ledger: Option<String>,
    /// The SQLite ledger file.
    #[arg(long, global = true)]
    pub ledger_path: Option<PathBuf>,
}

/// What the binary is asked to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (applies migrations; creates app `default` on an empty ledger).
    Serve {
        /// Address to bind, e.g. 127.0.0.1:8765 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Print the OpenAPI spec as YAML.
    Openapi,
    /// Manage client apps and their tokens.
    #[command(subcommand)]
    App(AppCommand),
    /// Run one sweep pass: close idle sessions, delete long-closed ones.
    Sweep,
    /// Run the bundled ACP echo agent on stdin/stdout (started by the agent runtime).
    EchoAgent(EchoAgentArgs),
}

/// App management.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an app and print its token (shown once).
    Add {
        /// The app's name.
        name: String,
    },
    /// List apps.
    List,
    /// Revoke an app's token for good.
    Revoke {
        /// The app's name.
        name: String,
    },
    /// Replace an app's token and print the new one (shown once).
    Rotate {
        /// The app's name.
        name: String,
    },
}

impl Cli {
    /// The flag layer of the configuration.
    pub fn overrides(&self) -> FlagOverrides {
        let listen = match &self.command {
            Command::Serve { listen } => listen.clone(),
            _ => None,
        };
        FlagOverrides {
            listen,
            data_dir: self.global.data_dir.clone(),
            ledger: self.global.ledger.clone(),
            ledger_path: self.global.ledger_path.clone(),
        }
    }
}
