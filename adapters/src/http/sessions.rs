//! The `/sessions` operations: parse, call one use case, render.

use super::auth::BearerAuth;
use super::body::JsonBody;
use super::detached::to_completion;
use super::error::api::{
    ApiError, CreateSessionErrors, ListErrors, PermissionErrors, SessionErrors, StreamErrors, TurnErrors,
    TurnListErrors,
};
use super::error::Problem;
use super::ok_response::OkResponse;
use super::schemas::{
    CreateSessionBody, PageLimit, PermissionAnswerBody, PermissionAnswered, SessionClosed, SessionCreated,
    SessionEventList, SessionList, SessionView, StatusFilterParam, TurnCancelled, TurnList, TurnRequestBody,
    WholeNumber,
};
use super::streaming::{self, Delivery, FeedAnswer, TurnAnswer};
use super::{ApiTags, HttpConfig, HttpState};
use clawdforge_domain::model::SessionId;
use clawdforge_domain::sessions::{ListRequest, TurnsRequest};
use clawdforge_domain::Error;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
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
    ) -> Result<OkResponse<SessionCreated>, ApiError<CreateSessionErrors>> {
        let (sessions, app, req) = (state.sessions.clone(), auth.0, body.0.into());
        let session = to_completion(async move { sessions.create(&app, req).await }).await?;
        Ok(OkResponse(SessionCreated::from(&session)))
    }

    /// Run a turn
    ///
    /// Sends one message to the session's agent and answers with the whole
    /// turn. Turns on one session run one at a time, in arrival order. With
    /// `Accept: text/event-stream` the turn is streamed as it runs; with
    /// `wait: false` it is answered 202 once admitted. A client that leaves
    /// does not stop the turn.
    #[oai(path = "/sessions/:session_id/turn", method = "post", operation_id = "runTurn")]
    async fn turn(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        cfg: Data<&HttpConfig>,
        req: &Request,
        session_id: Path<String>,
        body: JsonBody<TurnRequestBody>,
    ) -> Result<TurnAnswer, ApiError<TurnErrors>> {
        let wants_stream = req
            .headers()
            .get_all(poem::http::header::ACCEPT)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")));
        let delivery = match (body.0.wait, wants_stream) {
            (Some(false), _) => Delivery::NoWait,
            (_, true) => Delivery::Stream,
            _ => Delivery::Json,
        };
        let turn = body.0.into_request(state.sessions.policy().max_prompt_bytes)?;
        let id = parse_id(&session_id)?;
        Ok(streaming::turn(state.sessions.clone(), auth.0, id, turn, delivery, cfg.keep_alive).await?)
    }

    /// Follow a session
    ///
    /// The session's feed as server-sent events: every event after
    /// `Last-Event-ID` (or `after`; neither: from the start), then live ones,
    /// until the session closes. Sequence numbers only grow, across restarts,
    /// so a client that reconnects misses nothing and sees nothing twice.
    #[oai(path = "/sessions/:session_id/stream", method = "get", operation_id = "streamSession")]
    async fn stream(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        cfg: Data<&HttpConfig>,
        session_id: Path<String>,
        /// The `seq` of the last event seen (sent by EventSource on reconnect).
        #[oai(name = "Last-Event-ID", validator(pattern = r"^\s*([0-9]{1,15})?\s*$"))]
        last_event_id: Header<Option<String>>,
        /// Replay after this `seq` (when no `Last-Event-ID` is sent).
        after: Query<Option<WholeNumber>>,
    ) -> Result<FeedAnswer, ApiError<StreamErrors>> {
        let after = match last_event_id.0.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v.parse::<u64>().map_err(|_| {
                Problem::unprocessable(format!("Last-Event-ID must be an event seq (a whole number), not {v:?}"))
            })?,
            _ => after.0.map_or(0, |n| n.0),
        };
        let events = state.sessions.feed(&auth.0, &parse_id(&session_id)?, after).await?;
        Ok(FeedAnswer(streaming::feed_frames(events, cfg.keep_alive)))
    }

    /// Cancel the running turn
    ///
    /// The running turn stops (ACP `session/cancel`, then a kill) and answers
    /// its caller as a completed turn with `stop_reason: "cancelled"`.
    /// `cancelled: false` when nothing was running.
    #[oai(path = "/sessions/:session_id/cancel", method = "post", operation_id = "cancelTurn")]
    async fn cancel(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
    ) -> Result<OkResponse<TurnCancelled>, ApiError<SessionErrors>> {
        let (sessions, app, id) = (state.sessions.clone(), auth.0, parse_id(&session_id)?);
        let cancelled = to_completion(async move { sessions.cancel(&app, &id).await }).await?;
        Ok(OkResponse(TurnCancelled { ok: true, session_id: session_id.0, cancelled }))
    }

    /// Answer a permission request
    ///
    /// The client's decision on the agent's pending request
    /// (`permission_mode = "ask"`): 404 when it is unknown or already
    /// decided, 422 when the option is not one it offered.
    #[oai(path = "/sessions/:session_id/permissions/:request_id", method = "post", operation_id = "answerPermission")]
    async fn answer_permission(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
        request_id: Path<String>,
        body: JsonBody<PermissionAnswerBody>,
    ) -> Result<OkResponse<PermissionAnswered>, ApiError<PermissionErrors>> {
        state.sessions.answer_permission(&auth.0, &parse_id(&session_id)?, &request_id.0, &body.0.option_id).await?;
        Ok(OkResponse(PermissionAnswered {
            ok: true,
            session_id: session_id.0,
            request_id: request_id.0,
            option_id: body.0.option_id,
        }))
    }

    /// Get a session
    #[oai(path = "/sessions/:session_id", method = "get", operation_id = "getSession")]
    async fn get(
        &self,
        auth: BearerAuth,
        state: Data<&HttpState>,
        session_id: Path<String>,
    ) -> Result<OkResponse<SessionView>, ApiError<SessionErrors>> {
        let session = state.sessions.get(&auth.0, &parse_id(&session_id)?).await?;
        Ok(OkResponse(SessionView::from(&session).with_live(&state.sessions.live(session.id()))))
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
    ) -> Result<OkResponse<SessionList>, ApiError<ListErrors>> {
        let req = ListRequest {
            status: status.0.map(Into::into).unwrap_or_default(),
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0,
        };
        let page = state.sessions.list(&auth.0, req).await?;
        let mut list = SessionList::from(&page);
        for (view, session) in list.sessions.iter_mut().zip(&page.sessions) {
            view.set_live(&state.sessions.live(session.id()));
        }
        Ok(OkResponse(list))
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
    ) -> Result<OkResponse<SessionClosed>, ApiError<SessionErrors>> {
        let (sessions, app, id) = (state.sessions.clone(), auth.0, parse_id(&session_id)?);
        let outcome = to_completion(async move { sessions.close(&app, &id).await }).await?;
        Ok(OkResponse(SessionClosed::new(session_id.0, outcome)))
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
    ) -> Result<OkResponse<TurnList>, ApiError<TurnListErrors>> {
        let req = TurnsRequest { limit: limit.0.map(|l| l.0), cursor: cursor.0 };
        let page = state.sessions.turns_page(&auth.0, &parse_id(&session_id)?, req).await?;
        Ok(OkResponse(TurnList::from(page)))
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
    ) -> Result<OkResponse<SessionEventList>, ApiError<SessionErrors>> {
        let events = state.sessions.events(&auth.0, &parse_id(&session_id)?).await?;
        Ok(OkResponse(SessionEventList::from(events)))
    }
}

/// A path's session id: one that cannot exist is not found, like any other unknown id.
fn parse_id(raw: &Path<String>) -> Result<SessionId, Error> {
    SessionId::new(raw.0.as_str()).map_err(|_| Error::NotFound)
}
