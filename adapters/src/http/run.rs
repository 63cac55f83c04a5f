//! `POST /run`: the v0.1 one-shot surface, its shapes kept byte for byte.

use super::auth::BearerAuth;
use super::body::JsonBody;
use super::detached::to_completion;
use super::error::api::{ApiError, RunErrors};
use super::error::scrub::{scrub, stderr_for_client};
use super::schemas::{RunFailure, RunRequestBody, RunResult};
use super::{ApiTags, HttpState};
use clawdforge_domain::model::RunOutcome;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

/// The one-shot surface.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunApi;

/// How a one-shot job ended, in the v0.1 shapes.
#[derive(Debug, ApiResponse)]
pub enum RunResponse {
    /// Claude answered.
    #[oai(status = 200, content_type = "application/json")]
    Completed(Json<RunResult>),
    /// Claude failed: non-zero exit, `is_error`, or output that is not the expected JSON.
    #[oai(status = 502, content_type = "application/json")]
    Failed(Json<RunFailure>),
    /// The job ran past its timeout and was killed (`stop_reason: "timeout"`).
    #[oai(status = 504, content_type = "application/json")]
    TimedOut(Json<RunFailure>),
}

impl From<RunOutcome> for RunResponse {
    fn from(outcome: RunOutcome) -> Self {
        // Read before the match moves the outcome apart.
        let error = outcome.error().unwrap_or_default();
        match outcome {
            RunOutcome::Completed { result, stop_reason, duration_ms, .. } => {
                Self::Completed(Json(RunResult { ok: true, result, duration_ms, stop_reason: stop_reason.into() }))
            }
            RunOutcome::Failed { error, stderr, duration_ms, stop_reason } => {
                tracing::warn!(error, stderr, "claude failed");
                Self::Failed(Json(RunFailure {
                    ok: false,
                    error: scrub(&error),
                    stderr: stderr_for_client(&stderr),
                    duration_ms,
                    stop_reason,
                }))
            }
            RunOutcome::TimedOut { stderr, duration_ms } => Self::TimedOut(Json(RunFailure {
                ok: false,
                error: scrub(&error),
                stderr: stderr_for_client(&stderr),
                duration_ms,
                stop_reason: "timeout".into(),
            })),
        }
    }
}

#[OpenApi(tag = "ApiTags::Runs")]
impl RunApi {
    /// Run a one-shot job
    ///
    /// One stateless `claude -p` job, answered with its parsed result.
    #[oai(path = "/run", method = "post", operation_id = "runOneShot")]
    async fn run(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        body: JsonBody<RunRequestBody>,
    ) -> Result<RunResponse, ApiError<RunErrors>> {
        let input = body.0.into_input(state.runs.policy().max_prompt_bytes)?;
        let (runs, app) = (state.runs.clone(), auth.0);
        let outcome = to_completion(async move { runs.run(&app, input).await }).await?;
        Ok(outcome.into())
    }
}
