//! `clawdforge echo-agent`: the bundled ACP echo agent.

use clap::Args;
use std::process::ExitCode;

/// Options of the echo agent.
#[derive(Debug, Args)]
pub struct EchoAgentArgs {}

/// Runs the echo agent until stdin closes.
pub fn run(_args: EchoAgentArgs) -> ExitCode {
    ExitCode::FAILURE
}
