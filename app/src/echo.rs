//! `clawdforge echo-agent`: the bundled ACP echo agent.

use clap::Args;
use clawdforge_echo_agent::{run_stdio, EchoOptions};
use std::process::ExitCode;

/// Options of the echo agent.
#[derive(Debug, Args)]
pub struct EchoAgentArgs {
    /// Honour the test-only fault markers in prompts (`__crash__`, `__hang__`, `__stuck__`, `__permission__`, `__rpc_error__`, `__huge__`, `__stderr__`, `__drip__`, `__files__`).
    #[arg(long)]
    faults: bool,
    /// Do not offer `session/load` (clients must start a new session after a restart).
    #[arg(long)]
    no_load_session: bool,
}

/// Runs the echo agent until stdin closes.
pub fn run(args: EchoAgentArgs) -> ExitCode {
    match run_stdio(EchoOptions { faults: args.faults, no_load_session: args.no_load_session }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // stdout belongs to the protocol; the reason goes to stderr.
            eprintln!("echo-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
