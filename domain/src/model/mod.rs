//! The product's words: validated newtypes and the aggregates built from them.

mod app;
mod audit;
mod feed;
mod ids;
mod listing;
mod meta;
mod permission;
mod redacted;
mod run;
mod session;
mod time;
mod turn;
mod usage;

pub use app::{ApiToken, AppRecord, TokenHash};
pub use audit::{AuditDetail, AuditEvent, AuditKind, DecidedBy};
pub use feed::{FeedEvent, FeedKind, LiveState, PendingPermission};
pub use ids::{AgentName, AppName, InvalidName, SessionId};
pub use listing::{ListCursor, ListQuery, SessionPage, StatusFilter};
pub use meta::{InvalidMeta, Meta};
pub use permission::{PermissionAsk, PermissionChoice};
pub use redacted::Redacted;
pub use run::{RunOutcome, RunRecord, RunRequest, RunStatus};
pub use session::{Admission, Caps, CloseOutcome, CloseReason, Session, SessionState};
pub use time::Timestamp;
pub(crate) use turn::path_is_allowed;
pub use turn::{Prompt, RuntimeNotice, Turn, TurnInput, TurnOutput};
pub use usage::{Usage, UsageTotals, UsageWindow};
