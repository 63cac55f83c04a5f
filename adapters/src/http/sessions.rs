//! The `/sessions` operations: parse, call one use case, render.

use super::answer::Answer;
use super::api_error::{ApiError, CreateSessionErrors, ListErrors, SessionErrors, TurnErrors, TurnListErrors};
use super::auth::BearerAuth;
use super::body::JsonBody;
use super::completion::to_completion;
use super::schemas::{
    CreateSessionBody, PageLimit, SessionClosed, SessionCreated, SessionEventList, SessionList, SessionView,
    StatusFilterParam, TurnList, TurnRequestBody, TurnResult,
};
use super::{ApiTags, HttpState};
use clawdforge_domain::sessions::{ListRequest, TurnsRequest};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::OpenApi;

/// The multi-turn session surface.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionsApi;

#[OpenApi(tag = "ApiTags::Sessions")]
impl SessionsApi {
    /// Create a session
    ///
    /// Starts a session with one of the configured agents, admitted against
    /// the global pool cap (503 with `Retry-After`) and the per-app cap (429).
    #[oai(path = "/sessions", method = "post", operation_id = "createSession")]
    async fn create(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        body: JsonBody<CreateSessionBody>,
    ) -> Result<Answer<SessionCreated>, ApiError<CreateSessionErrors>> {
        let (sessions, app, req) = (state.sessions.clone(), auth.0, body.0.into());
        let session = to_completion(async move { sessions.create(&app, req).await }).await?;
        Ok(Answer(SessionCreated::from(&session)))
    }

    /// Run a turn
    ///
    /// Sends one message to the session's agent and answers with the whole
    /// turn. Turns on one session run one at a time, in arrival order.
    #[oai(path = "/sessions/:session_id/turn", method = "post", operation_id = "runTurn")]
    async fn turn(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
        body: JsonBody<TurnRequestBody>,
    ) -> Result<Answer<TurnResult>, ApiError<TurnErrors>> {
        let (sessions, app, id, req) = (state.sessions.clone(), auth.0, session_id.0.clone(), body.0.into());
        let turn = to_completion(async move { sessions.turn(&app, &id, req).await }).await?;
        Ok(Answer(TurnResult::new(session_id.0, turn)))
    }

    /// Get a session
    #[oai(path = "/sessions/:session_id", method = "get", operation_id = "getSession")]
    async fn get(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
    ) -> Result<Answer<SessionView>, ApiError<SessionErrors>> {
        let session = state.sessions.get(&auth.0, &session_id.0).await?;
        Ok(Answer(SessionView::from(&session)))
    }

    /// List sessions
    ///
    /// The caller's sessions, newest first, a page at a time.
    #[oai(path = "/sessions", method = "get", operation_id = "listSessions")]
    async fn list(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        /// `open`, `closed` or `all` (the default).
        status: Query<Option<StatusFilterParam>>,
        /// Page size (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^-?[0-9]{1,18}\.[A-Za-z0-9][A-Za-z0-9_-]{15,127}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Answer<SessionList>, ApiError<ListErrors>> {
        let req = ListRequest {
            status: status.0.map(|s| s.as_str().to_owned()),
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0,
        };
        let page = state.sessions.list(&auth.0, req).await?;
        Ok(Answer(SessionList::from(&page)))
    }

    /// Close a session
    ///
    /// Idempotent: the first call closes (`already_closed: false`), every
    /// later one is a no-op that answers `already_closed: true`.
    #[oai(path = "/sessions/:session_id", method = "delete", operation_id = "closeSession")]
    async fn close(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
    ) -> Result<Answer<SessionClosed>, ApiError<SessionErrors>> {
        let (sessions, app, id) = (state.sessions.clone(), auth.0, session_id.0.clone());
        let outcome = to_completion(async move { sessions.close(&app, &id).await }).await?;
        Ok(Answer(SessionClosed::new(session_id.0, outcome)))
    }

    /// List a session's turns
    ///
    /// The session's completed turns in order, a page at a time.
    #[oai(path = "/sessions/:session_id/turns", method = "get", operation_id = "listTurns")]
    async fn turns(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
        /// Page size (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,9}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Answer<TurnList>, ApiError<TurnListErrors>> {
        let req = TurnsRequest { limit: limit.0.map(|l| l.0), cursor: cursor.0 };
        let page = state.sessions.turns_page(&auth.0, &session_id.0, req).await?;
        Ok(Answer(TurnList::from(page)))
    }

    /// List a session's audit events
    ///
    /// Every lifecycle step: `create`, `turn`, `turn_failed`, `close`, `sweep_close`.
    #[oai(path = "/sessions/:session_id/events", method = "get", operation_id = "listSessionEvents")]
    async fn events(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
    ) -> Result<Answer<SessionEventList>, ApiError<SessionErrors>> {
        let events = state.sessions.events(&auth.0, &session_id.0).await?;
        Ok(Answer(SessionEventList::from(events)))
    }
}
