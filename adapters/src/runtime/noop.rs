//! An agent runtime that does nothing: every turn ends at once with no
//! output. For measuring the control plane without agent processes.

use async_trait::async_trait;
use clawdforge_domain::error::RuntimeError;
use clawdforge_domain::model::TurnOutput;
use clawdforge_domain::ports::{AgentRuntime, AgentSession, TurnSink};
use std::sync::Arc;
use std::time::Duration;

/// Opens, prompts and closes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopRuntime;

#[async_trait]
impl AgentRuntime for NoopRuntime {
    async fn open(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn prompt(
        &self,
        _: &AgentSession,
        _: &str,
        _: Duration,
        _: Arc<dyn TurnSink>,
    ) -> Result<TurnOutput, RuntimeError> {
        Ok(TurnOutput {
            stop_reason: "end_turn".into(),
            events: Vec::new(),
            text: String::new(),
            notices: Vec::new(),
            usage: Default::default(),
        })
    }

    async fn cancel(&self, _: &AgentSession) -> Result<bool, RuntimeError> {
        // A noop turn ends at once, so there is never one to stop.
        Ok(false)
    }

    async fn close(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn discard(&self, _: &AgentSession) -> Result<(), RuntimeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawdforge_domain::model::{AgentName, AppName, SessionId};

    #[tokio::test]
    async fn a_noop_turn_ends_at_once_with_no_output() {
        let s = AgentSession {
            app: AppName::new("a").expect("valid"),
            id: SessionId::new("abcdefghijklmnop").expect("valid"),
            agent: AgentName::new("echo").expect("valid"),
        };
        let out = NoopRuntime
            .prompt(&s, "hi", Duration::from_secs(1), Arc::new(clawdforge_domain::ports::IgnoreUpdates))
            .await
            .expect("turn");
        assert_eq!((out.stop_reason.as_str(), out.events.len(), out.text.as_str()), ("end_turn", 0, ""));
        assert!(NoopRuntime.open(&s).await.is_ok() && NoopRuntime.close(&s).await.is_ok());
    }
}
