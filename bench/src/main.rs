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
    /// read-path: also measure this gateway binary (an earlier build, "before")
    /// against this build's ("after"), interleaved in the same run.
    #[arg(long, value_name = "BIN")]
    compare: Option<std::path::PathBuf>,
    /// read-path: interleaved rounds, each figure the median over them (default 5).
    #[arg(long)]
    rounds: Option<usize>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Serve the trivial baseline endpoint (started by the benchmark itself).
    #[command(hide = true)]
    BaselineServer,
    /// A steady closed-loop GET load on one URL, to profile a server under it
    /// (`perf record -g -p PID` meanwhile).
    Load {
        /// The URL to GET.
        url: String,
        /// A bearer token to send.
        #[arg(long)]
        token: Option<String>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// How long, in seconds.
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
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
    let fut = async {
        match cli.command {
            Some(Sub::Load { url, token, clients, secs }) => scenarios::load(url, token, clients, secs).await,
            _ => {
                let read_path = scenarios::ReadPathOptions { compare: cli.compare, rounds: cli.rounds };
                scenarios::all(cli.quick, cli.only.as_deref(), cli.ledger, &read_path).await
            }
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawdforge-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
