//! The bundled ACP echo agent (`clawdforge echo-agent`).
//!
//! A real Agent Client Protocol agent on stdin/stdout, built on the
//! `agent-client-protocol` crate (0.4, which speaks protocol version 1 like
//! acpx's TypeScript SDK), so that a new user and every test can drive whole
//! sessions through a real acpx with no API key. It echoes each prompt back
//! in several `agent_message_chunk` updates and ends with `[turn N]`, N being
//! the session's count of completed turns, persisted in the session's working
//! directory so that the count survives an agent restart and `session/load`.

mod agent;
mod faults;
mod reply;
mod state;

use agent::EchoAgent;
use agent_client_protocol::AgentSideConnection;
use std::rc::Rc;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

/// How the echo agent behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoOptions {
    /// Honour the test-only fault markers (`__crash__`, `__hang__`, `__permission__`, `__permission_write__`).
    pub faults: bool,
}

/// Serves one ACP client on stdin/stdout until stdin closes.
pub fn run_stdio(opts: EchoOptions) -> std::io::Result<()> {
    // The crate's `Agent` trait is `?Send`: a current-thread runtime with a
    // LocalSet runs it without any locking.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, serve(opts))
}

async fn serve(opts: EchoOptions) -> std::io::Result<()> {
    let agent = Rc::new(EchoAgent::new(opts));
    let (conn, io_task) = AgentSideConnection::new(
        agent.clone(),
        tokio::io::stdout().compat_write(),
        tokio::io::stdin().compat(),
        |fut| {
            tokio::task::spawn_local(fut);
        },
    );
    agent.attach(conn);
    io_task.await.map_err(|e| std::io::Error::other(e.to_string()))
}
