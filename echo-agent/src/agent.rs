//! The echo agent's ACP handlers.

use crate::faults::{fault_in, Fault, DRIP_CHUNKS, DRIP_PAUSE, FLOOD_CHUNKS};
use crate::reply::{chunks, turn_marker};
use crate::state::{load_turns, store_turns};
use crate::EchoOptions;
use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, AuthenticateRequest, AuthenticateResponse, CancelNotification, ContentBlock, ContentChunk,
    InitializeRequest, InitializeResponse, LoadSessionRequest, LoadSessionResponse, NewSessionRequest,
    NewSessionResponse, PermissionOption, PermissionOptionKind, PromptRequest, PromptResponse, ReadTextFileRequest,
    RequestPermissionOutcome, RequestPermissionRequest, SessionId, SessionNotification, SessionUpdate, StopReason,
    TextContent, ToolCallLocation, ToolCallUpdate, ToolCallUpdateFields, ToolKind, WriteTextFileRequest,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Client, ConnectTo, Error};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// Exit status of a `__crash__` turn.
const CRASH_STATUS: i32 = 3;
/// What a `__huge__` turn streams, in 64 KiB chunks.
const HUGE_BYTES: usize = 16 * 1024 * 1024;
/// What a `__stderr__` turn writes to stderr.
const STDERR_BYTES: usize = 4 * 1024 * 1024;

/// One session the agent knows.
struct Live {
    /// Its working directory, where its counter is stored.
    cwd: PathBuf,
    /// Completed turns so far.
    turns: u64,
    /// Woken by `session/cancel` while a prompt runs.
    cancel: Option<Arc<Notify>>,
}

#[derive(Default)]
struct Sessions {
    live: HashMap<String, Live>,
    next_id: u64,
}

/// The agent's state, shared by its handlers.
#[derive(Clone)]
struct EchoAgent {
    opts: EchoOptions,
    sessions: Arc<Mutex<Sessions>>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal_error().data(serde_json::Value::String(e.to_string()))
}

fn unknown_session(id: &str) -> Error {
    Error::invalid_params().data(serde_json::Value::String(format!("unknown session {id}")))
}

fn text_of(prompt: &[ContentBlock]) -> String {
    prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(t) => Some(t.text.as_str()),
            ContentBlock::ResourceLink(link) => Some(link.uri.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn say(conn: &ConnectionTo<Client>, session: &SessionId, text: impl Into<String>) -> Result<(), Error> {
    let chunk = ContentChunk::new(ContentBlock::Text(TextContent::new(text)));
    conn.send_notification(SessionNotification::new(session.clone(), SessionUpdate::AgentMessageChunk(chunk)))
}

impl EchoAgent {
    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // A handler that panicked cannot leave the map half-written: recover it.
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new_session(&self, cwd: PathBuf) -> Result<String, Error> {
        let id = {
            let mut sessions = self.lock();
            sessions.next_id += 1;
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            format!("echo-{}-{nanos}-{}", std::process::id(), sessions.next_id)
        };
        store_turns(&cwd, &id, 0).map_err(internal)?;
        self.lock().live.insert(id.clone(), Live { cwd, turns: 0, cancel: None });
        Ok(id)
    }

    fn load_session(&self, cwd: PathBuf, id: &str) -> Result<(), Error> {
        let turns = load_turns(&cwd, id).map_err(internal)?.ok_or_else(|| unknown_session(id))?;
        self.lock().live.insert(id.to_owned(), Live { cwd, turns, cancel: None });
        Ok(())
    }

    fn cwd_of(&self, id: &str) -> PathBuf {
        self.lock().live.get(id).map(|s| s.cwd.clone()).unwrap_or_default()
    }

    async fn ask_permission(
        &self,
        conn: &ConnectionTo<Client>,
        session: &SessionId,
        kind: ToolKind,
    ) -> Result<String, Error> {
        let cwd = self.cwd_of(&session.0);
        let title = if kind == ToolKind::Read { "Read notes.txt" } else { "Edit notes.txt" };
        let fields = ToolCallUpdateFields::new()
            .kind(kind)
            .title(title.to_owned())
            .locations(vec![ToolCallLocation::new(cwd.join("notes.txt"))]);
        let request = RequestPermissionRequest::new(
            session.clone(),
            ToolCallUpdate::new("echo-tool-1", fields),
            vec![
                PermissionOption::new("allow", "Allow", PermissionOptionKind::AllowOnce),
                PermissionOption::new("reject", "Reject", PermissionOptionKind::RejectOnce),
            ],
        );
        let answer = conn.send_request(request).block_task().await?;
        Ok(match answer.outcome {
            RequestPermissionOutcome::Selected(selected) => selected.option_id.0.to_string(),
            _ => "cancelled".to_owned(),
        })
    }

    /// `__files__ READ WRITE`: reads READ and writes WRITE through the client.
    async fn use_files(&self, conn: &ConnectionTo<Client>, session: &SessionId, text: &str) -> Result<(), Error> {
        let cwd = self.cwd_of(&session.0);
        let mut words = text.split_whitespace().skip_while(|w| *w != "__files__").skip(1);
        let absolute = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { cwd.join(p) };
        if let Some(read) = words.next() {
            let answer =
                conn.send_request(ReadTextFileRequest::new(session.clone(), absolute(read))).block_task().await;
            let report = match answer {
                Ok(r) => format!("[read ok {} bytes]\n", r.content.len()),
                Err(e) => format!("[read refused {}]\n", e.code),
            };
            say(conn, session, report)?;
        }
        if let Some(write) = words.next() {
            let request = WriteTextFileRequest::new(session.clone(), absolute(write), "written by echo\n");
            let report = match conn.send_request(request).block_task().await {
                Ok(_) => "[write ok]\n".to_owned(),
                Err(e) => format!("[write refused {}]\n", e.code),
            };
            say(conn, session, report)?;
        }
        Ok(())
    }

    /// Runs one turn to its stop reason; the caller keeps the books.
    async fn turn(
        &self,
        conn: &ConnectionTo<Client>,
        session: &SessionId,
        text: &str,
        cancel: &Notify,
    ) -> Result<StopReason, Error> {
        match fault_in(text, self.opts.faults) {
            Some(Fault::Crash) => {
                say(conn, session, "about to crash")?;
                // Let the connection write the chunk before the process dies mid-turn.
                tokio::time::sleep(Duration::from_millis(200)).await;
                std::process::exit(CRASH_STATUS);
            }
            Some(Fault::Hang) => {
                say(conn, session, "hanging until cancelled")?;
                cancel.notified().await;
                return Ok(StopReason::Cancelled);
            }
            Some(Fault::Stuck) => {
                say(conn, session, "stuck, ignoring cancels")?;
                std::future::pending::<()>().await;
            }
            Some(Fault::PermissionRead) => {
                let outcome = self.ask_permission(conn, session, ToolKind::Read).await?;
                say(conn, session, format!("[permission {outcome}]\n"))?;
            }
            Some(Fault::PermissionWrite) => {
                let outcome = self.ask_permission(conn, session, ToolKind::Edit).await?;
                say(conn, session, format!("[permission {outcome}]\n"))?;
            }
            Some(Fault::RpcError) => {
                return Err(Error::internal_error().data(serde_json::Value::String("echo agent fault".into())));
            }
            Some(Fault::Huge) => {
                let piece = "h".repeat(64 * 1024);
                for _ in 0..HUGE_BYTES / piece.len() {
                    say(conn, session, piece.clone())?;
                    tokio::task::yield_now().await;
                }
            }
            Some(Fault::Stderr) => {
                let line = format!("{}\n", "chatter ".repeat(16));
                let mut err = std::io::stderr().lock();
                for _ in 0..STDERR_BYTES / line.len() {
                    err.write_all(line.as_bytes()).map_err(internal)?;
                }
            }
            Some(Fault::Drip) => {
                for n in 1..=DRIP_CHUNKS {
                    tokio::select! {
                        () = tokio::time::sleep(DRIP_PAUSE) => say(conn, session, format!("drip {n}/{DRIP_CHUNKS}\n"))?,
                        () = cancel.notified() => return Ok(StopReason::Cancelled),
                    }
                }
            }
            Some(Fault::Flood) => {
                for n in 1..=FLOOD_CHUNKS {
                    say(conn, session, format!("f{n} "))?;
                }
            }
            Some(Fault::Files) => self.use_files(conn, session, text).await?,
            None => {}
        }
        for piece in chunks(text) {
            say(conn, session, piece)?;
        }
        Ok(StopReason::EndTurn)
    }

    /// A whole `session/prompt`: admission, the turn, the counter, the answer.
    async fn prompt(&self, conn: &ConnectionTo<Client>, request: PromptRequest) -> Result<PromptResponse, Error> {
        let id = request.session_id.0.to_string();
        let cancel = Arc::new(Notify::new());
        self.lock().live.get_mut(&id).ok_or_else(|| unknown_session(&id))?.cancel = Some(cancel.clone());
        let text = text_of(&request.prompt);
        let stop = self.turn(conn, &request.session_id, &text, &cancel).await;
        let (turns, cwd) = {
            let mut sessions = self.lock();
            let live = sessions.live.get_mut(&id).ok_or_else(|| internal("session vanished"))?;
            live.cancel = None;
            if matches!(stop, Ok(StopReason::EndTurn)) {
                live.turns += 1;
            }
            (live.turns, live.cwd.clone())
        };
        let stop = stop?;
        if stop == StopReason::EndTurn {
            store_turns(&cwd, &id, turns).map_err(internal)?;
            say(conn, &request.session_id, turn_marker(turns))?;
        }
        Ok(PromptResponse::new(stop))
    }

    fn cancel(&self, id: &str) {
        // A fresh Notify per prompt: a cancel that finds no running prompt
        // leaves nothing behind to cancel the next one.
        if let Some(cancel) = self.lock().live.get(id).and_then(|s| s.cancel.clone()) {
            cancel.notify_one();
        }
    }
}

/// Serves one client on `transport` until it closes.
pub(crate) async fn serve(opts: EchoOptions, transport: impl ConnectTo<Agent> + 'static) -> Result<(), Error> {
    let agent = EchoAgent { opts, sessions: Arc::default() };
    let (a1, a2, a3, a4) = (agent.clone(), agent.clone(), agent.clone(), agent);
    Agent
        .v1()
        .name("clawdforge-echo-agent")
        .on_receive_request(
            async move |_request: InitializeRequest,
                        responder: Responder<InitializeResponse>,
                        _c: ConnectionTo<Client>| {
                responder.respond(
                    InitializeResponse::new(ProtocolVersion::V1)
                        .agent_capabilities(AgentCapabilities::new().load_session(!opts.no_load_session)),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async |_request: AuthenticateRequest,
                   responder: Responder<AuthenticateResponse>,
                   _c: ConnectionTo<Client>| { responder.respond(AuthenticateResponse::new()) },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest,
                        responder: Responder<NewSessionResponse>,
                        _c: ConnectionTo<Client>| {
                match a1.new_session(request.cwd) {
                    Ok(id) => responder.respond(NewSessionResponse::new(id)),
                    Err(e) => responder.respond_with_error(e),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: LoadSessionRequest,
                        responder: Responder<LoadSessionResponse>,
                        _c: ConnectionTo<Client>| {
                match a2.load_session(request.cwd, &request.session_id.0) {
                    Ok(()) => responder.respond(LoadSessionResponse::new()),
                    Err(e) => responder.respond_with_error(e),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest, responder: Responder<PromptResponse>, conn: ConnectionTo<Client>| {
                // A prompt runs off the dispatch loop, so that `session/cancel`
                // and the answers to the agent's own requests still get through.
                let agent = a3.clone();
                let c = conn.clone();
                conn.spawn(async move {
                    match agent.prompt(&c, request).await {
                        Ok(answer) => responder.respond(answer),
                        Err(e) => responder.respond_with_error(e),
                    }
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: CancelNotification, _c: ConnectionTo<Client>| {
                a4.cancel(&notification.session_id.0);
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .connect_to(transport)
        .await
}
