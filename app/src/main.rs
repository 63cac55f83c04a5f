//! clawdforge: the binary. Parses the CLI, loads the configuration and hands
//! off to the composition root.

mod allocator;
mod cli;
mod commands;
mod config;
mod echo;
mod logging;
mod serve;
mod wiring;

use anyhow::Context;
use clap::Parser;
use clawdforge_domain::ports::Ledger;
use cli::{Cli, Command};
use config::Settings;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve { .. }) {
        allocator::tune_and_reexec();
    }
    match cli.command {
        // The echo agent speaks ACP on stdout: no logging, no config.
        Command::EchoAgent(args) => echo::run(args),
        Command::Openapi => {
            print!("{}", clawdforge_adapters::http::openapi_yaml());
            ExitCode::SUCCESS
        }
        _ => run_with_config(cli),
    }
}

fn run_with_config(cli: Cli) -> ExitCode {
    // Everything the gateway writes (data directory, ledger and its -wal/-shm,
    // workspaces, acpx's state, what agents write) is private to its user,
    // whatever umask it was started with. Children inherit it.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    // A bad setting, or a ledger that cannot be opened (a bad file, an
    // unreachable database), is a start-up refusal: one sentence, exit 2.
    let (settings, ledger) = match prepare(&cli) {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("clawdforge: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command, settings, ledger) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawdforge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads and checks the configuration, starts logging, and opens the ledger.
fn prepare(cli: &Cli) -> anyhow::Result<(Settings, Arc<dyn Ledger>)> {
    let settings = config::Config::load(cli.global.config.as_deref(), &cli.overrides())?.check()?;
    logging::init(settings.log_format);
    let ledger = wiring::open_ledger(&settings)?;
    Ok((settings, ledger))
}

/// Runs a command that needs the configuration, on the async runtime.
fn run(command: Command, settings: Settings, ledger: Arc<dyn Ledger>) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match command {
            Command::Serve { .. } => serve::serve(settings, ledger).await,
            Command::App(cmd) => commands::app(ledger, cmd).await,
            Command::Sweep => commands::sweep(&settings, ledger).await,
            Command::Openapi | Command::EchoAgent(_) => Ok(()),
        }
    })
}
