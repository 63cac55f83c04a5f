//! The bundled ACP echo agent (`clawdforge echo-agent`).
//!
//! A real Agent Client Protocol agent on stdin/stdout, built on the
//! `agent-client-protocol` crate (5.x, protocol version 1), so that a new
//! user and every test can drive whole sessions with no API key. It echoes
//! each prompt back in several `agent_message_chunk` updates and ends with
//! `[turn N]`, N being the session's count of completed turns, persisted in
//! the session's working directory so that the count survives an agent
//! restart and `session/load`. With `--faults`, markers in a prompt make it
//! crash, hang, fail, flood, chat on stderr, drip, ask permission or use the
//! client's file system (see `faults.rs`).

mod agent;
mod faults;
mod reply;
mod state;

use agent_client_protocol::ByteStreams;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

/// How the echo agent behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoOptions {
    /// Honour the test-only fault markers (`__crash__`, `__hang__`, `__permission__`, ...).
    pub faults: bool,
    /// Do not offer `session/load` (to test clients that must start over).
    pub no_load_session: bool,
}

/// Serves one ACP client on stdin/stdout until stdin closes.
pub fn run_stdio(opts: EchoOptions) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let streams = ByteStreams::new(tokio::io::stdout().compat_write(), tokio::io::stdin().compat());
        agent::serve(opts, streams).await.map_err(|e| std::io::Error::other(e.to_string()))
    })
}
