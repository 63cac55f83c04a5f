//! `clawdforge-bench`: builds nothing, measures everything. Run it through
//! `scripts/bench`, which builds the release binaries first.

mod baseline;
mod load;
mod process;
mod scenarios;
mod stats;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Benchmarks of the clawdforge gateway, each row with its baseline from the same run.
#[derive(Debug, Parser)]
struct Cli {
    /// Fewer requests and turns: a smoke run, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Run only this table (`control-plane`, `cluster`, `read-path`, `turns`, `runtimes`, `streaming`, `one-shot`, `memory`).
    #[arg(long)]
    only: Option<String>,
    /// `postgres`: only the control-plane table, on SQLite, one gateway on a
    /// throwaway Postgres and two gateways sharing it; then what forwarding adds (`cluster`).
    #[arg(long, value_enum, default_value = "sqlite")]
    ledger: scenarios::Ledgers,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Serve the trivial baseline endpoint (started by the benchmark itself).
    #[command(hide = true)]
    BaselineServer,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Sub::BaselineServer) = cli.command {
        return match baseline::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baseline server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clawdforge-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(scenarios::all(cli.quick, cli.only.as_deref(), cli.ledger)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawdforge-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
