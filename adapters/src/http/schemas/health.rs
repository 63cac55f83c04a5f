use crate::http::ok_response::Described;
use poem_openapi::Object;

/// The gateway's liveness and pool occupancy.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct Health {
    /// Always `true` when the gateway answers.
    pub ok: bool,
    /// The gateway's version.
    pub version: String,
    /// Open sessions across all apps.
    pub live_sessions: u64,
    /// The most open sessions the gateway holds at once.
    pub max_live_sessions: u32,
}

impl Described for Health {
    const ANSWER: &'static str = "The gateway answers.";
}
