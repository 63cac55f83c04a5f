//! The request and response bodies of the API, with their OpenAPI docs.
//! Each maps to or from the domain's types and nothing more.

mod error;
mod event;
mod health;
mod nullable;
mod params;
mod run;
mod session;
mod session_json;
mod stream;
mod turn;
mod usage;

pub use error::{ErrorBody, ErrorCode};
pub use event::SessionEventList;
pub use health::Health;
pub use nullable::Nullable;
pub use params::{PageLimit, WholeNumber};
pub use run::{RunFailure, RunRequestBody, RunResult};
pub use session::{CreateSessionBody, SessionClosed, SessionCreated, SessionList, SessionView, StatusFilterParam};
pub use stream::{
    feed_data, FeedStreamEvent, PermissionAnswerBody, PermissionAnswered, PermissionEvent, TurnAccepted, TurnCancelled,
    TurnStreamEvent,
};
pub use turn::{TurnList, TurnRequestBody, TurnResult};
pub use usage::UsageReport;
