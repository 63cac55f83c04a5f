//! clawdforge: the binary. Parses the CLI and hands off to the composition root.

mod echo;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Self-hosted gateway for driving AI coding agents over HTTP.
#[derive(Debug, Parser)]
#[command(name = "clawdforge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bundled ACP echo agent on stdin/stdout (for acpx).
    EchoAgent(echo::EchoAgentArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::EchoAgent(args) => echo::run(args),
    }
}
