//! `clawdforge echo-agent`: the bundled ACP echo agent.

use clap::Args;
use clawdforge_echo_agent::{run_stdio, EchoOptions};
use std::process::ExitCode;

/// Options of the echo agent.
#[derive(Debug, Args)]
pub struct EchoAgentArgs {
    /// Honour the test-only fault markers in prompts (`__crash__`, `__hang__`, `__permission__`).
    #[arg(long)]
    faults: bool,
}

/// Runs the echo agent until stdin closes.
pub fn run(args: EchoAgentArgs) -> ExitCode {
    match run_stdio(EchoOptions { faults: args.faults }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // stdout belongs to the protocol; the reason goes to stderr.
            eprintln!("echo-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
