use serde_json::Value;

/// One choice an agent offers in a permission request (ACP `PermissionOption`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionChoice {
    /// The option's id, as the agent gave it.
    pub option_id: String,
    /// Its label for a person.
    pub name: String,
    /// `allow_once`, `allow_always`, `reject_once` or `reject_always`.
    pub kind: String,
}

/// An agent's `session/request_permission`, as the runtime read it.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionAsk {
    /// The tool call the agent wants to make (ACP `toolCall`, as sent).
    pub tool_call: Value,
    /// What the agent offers to choose from.
    pub options: Vec<PermissionChoice>,
}
