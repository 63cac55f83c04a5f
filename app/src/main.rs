//! clawdforge: the binary. Parses the CLI, loads the configuration and hands
//! off to the composition root.

mod allocator;
mod cli;
mod commands;
mod config;
mod echo;
mod serve;
mod wiring;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

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
    let settings = match config::Config::load(cli.global.config.as_deref(), &cli.overrides()).and_then(|c| c.check()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clawdforge: {e}");
            return ExitCode::from(2);
        }
    };
    serve::init_logging(&settings.raw.log_format);
    // A ledger that cannot be opened (a bad file, an unreachable database) is
    // a start-up refusal like a bad setting: one sentence, exit 2.
    let ledger = match wiring::open_ledger(&settings) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("clawdforge: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clawdforge: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve::serve(settings, ledger).await,
            Command::App(cmd) => commands::app(ledger, cmd).await,
            Command::Sweep => commands::sweep(&settings, ledger).await,
            Command::Openapi | Command::EchoAgent(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawdforge: {e}");
            ExitCode::FAILURE
        }
    }
}
