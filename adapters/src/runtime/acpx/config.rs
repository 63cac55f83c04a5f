//! How the acpx runtime is configured.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

/// Everything the acpx runtime needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpxConfig {
    /// The `acpx` executable (the app passes `<repo>/node_modules/.bin/acpx` by default).
    pub acpx_bin: PathBuf,
    /// Sessions run in `<workspace_root>/<app>/<session_id>`.
    pub workspace_root: PathBuf,
    /// The `HOME` given to every acpx child, so its state (`.acpx/`) is private to this gateway.
    pub state_home: PathBuf,
    /// The configured agents by name.
    pub agents: BTreeMap<String, AgentCommand>,
    /// How the agent's permission requests are answered.
    pub permissions: PermissionMode,
    /// acpx's queue-owner idle TTL (`--ttl`); `None` keeps acpx's default (300 s).
    pub queue_ttl_secs: Option<u64>,
    /// How long a cancelled prompt may take to stop before its acpx client is killed.
    pub cancel_grace: std::time::Duration,
}

/// How acpx starts an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentCommand {
    /// One of acpx's built-in agents, by its name (`claude`, `codex`, ...).
    Builtin(String),
    /// A custom agent: a command line acpx runs (`--agent <command>`).
    Custom(String),
}

/// How the agent's tool permission requests are answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PermissionMode {
    /// Approve every request.
    ApproveAll,
    /// Approve reads and searches, deny the rest.
    #[default]
    ApproveReads,
    /// Deny every request.
    DenyAll,
}

impl PermissionMode {
    /// acpx's flag for this mode.
    pub fn flag(self) -> &'static str {
        match self {
            PermissionMode::ApproveAll => "--approve-all",
            PermissionMode::ApproveReads => "--approve-reads",
            PermissionMode::DenyAll => "--deny-all",
        }
    }
}

/// A permission mode name other than `approve-all`, `approve-reads` or `deny-all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission mode {0:?}: expected approve-all, approve-reads or deny-all")]
pub struct UnknownPermissionMode(pub String);

impl FromStr for PermissionMode {
    type Err = UnknownPermissionMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve-all" => Ok(PermissionMode::ApproveAll),
            "approve-reads" => Ok(PermissionMode::ApproveReads),
            "deny-all" => Ok(PermissionMode::DenyAll),
            other => Err(UnknownPermissionMode(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_modes_parse_from_their_config_names() {
        assert_eq!("approve-all".parse(), Ok(PermissionMode::ApproveAll));
        assert_eq!("approve-reads".parse(), Ok(PermissionMode::ApproveReads));
        assert_eq!("deny-all".parse(), Ok(PermissionMode::DenyAll));
        assert!("allow".parse::<PermissionMode>().is_err());
        assert_eq!(PermissionMode::default(), PermissionMode::ApproveReads);
    }
}
