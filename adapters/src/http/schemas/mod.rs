//! The request and response bodies of the API, with their OpenAPI docs.
//! Each maps to or from the domain's types and nothing more.

mod error;
mod event;
mod health;
mod run;
mod session;
mod turn;
mod usage;

pub use error::ErrorBody;
pub use event::SessionEventList;
pub use health::Health;
pub use run::{RunFailure, RunRequestBody, RunResult};
pub use session::{CreateSessionBody, SessionClosed, SessionCreated, SessionList, SessionView, StatusFilterParam};
pub use turn::{TurnList, TurnRequestBody, TurnResult};
pub use usage::UsageReport;
