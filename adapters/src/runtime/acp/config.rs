//! How the native ACP runtime is configured.

use crate::runtime::acpx::AgentCommand;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything the ACP runtime needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpConfig {
    /// Sessions run in `<workspace_root>/<app>/<session_id>`.
    pub workspace_root: PathBuf,
    /// The `HOME` every agent process gets.
    pub agent_home: PathBuf,
    /// Where the runtime remembers each session's ACP session id (for `session/load`).
    pub state_dir: PathBuf,
    /// The configured agents by name (built-ins resolve through [`super::registry`]).
    pub agents: BTreeMap<String, AgentCommand>,
    /// Where installed built-in agents are looked for (`<dir>/.bin/<command>`), before the PATH.
    pub node_modules: Vec<PathBuf>,
    /// How the agent's permission requests are answered.
    pub permissions: Permissions,
    /// Roots that `fs/read_text_file` may read besides the session's workspace.
    pub allowed_roots: Vec<PathBuf>,
    /// An agent idle this long is stopped (the next turn starts it again).
    pub idle: Duration,
    /// How long a cancelled agent may take to stop before it is killed.
    pub cancel_grace: Duration,
    /// The most a turn's agent output may be, in bytes; beyond, the agent is stopped and the turn fails.
    pub max_turn_output_bytes: usize,
    /// The most agent processes alive at once.
    pub max_live: usize,
}

/// How the agent's `session/request_permission` (and the client's own
/// `fs/*` checks) are answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Permissions {
    /// Approve every request.
    ApproveAll,
    /// Approve reads and searches, deny the rest.
    #[default]
    ApproveReads,
    /// Deny every request.
    DenyAll,
    /// Ask the turn's sink (the client decides).
    Ask,
}

/// A permission mode name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission mode {0:?}: expected approve-all, approve-reads, deny-all or ask")]
pub struct UnknownPermissions(pub String);

impl FromStr for Permissions {
    type Err = UnknownPermissions;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve-all" => Ok(Permissions::ApproveAll),
            "approve-reads" => Ok(Permissions::ApproveReads),
            "deny-all" => Ok(Permissions::DenyAll),
            "ask" => Ok(Permissions::Ask),
            other => Err(UnknownPermissions(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_modes_parse_from_their_config_names() {
        assert_eq!("approve-all".parse(), Ok(Permissions::ApproveAll));
        assert_eq!("approve-reads".parse(), Ok(Permissions::ApproveReads));
        assert_eq!("deny-all".parse(), Ok(Permissions::DenyAll));
        assert_eq!("ask".parse(), Ok(Permissions::Ask));
        assert!("allow".parse::<Permissions>().is_err());
    }
}
