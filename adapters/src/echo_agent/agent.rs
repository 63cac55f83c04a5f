//! The echo agent's ACP handlers.

use super::faults::{fault_in, Fault, DRIP_CHUNKS, DRIP_PAUSE, FLOOD_CHUNKS};
use super::reply::{chunks, turn_marker};
use super::state::{load_turns, store_turns};
use super::EchoOptions;
use acp::Client as _;
use agent_client_protocol as acp;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Notify;

/// Exit status of a `__crash__` turn.
const CRASH_STATUS: i32 = 3;

/// One session the agent knows on this connection.
struct Live {
    /// Its working directory, where its counter is stored.
    cwd: PathBuf,
    /// Completed turns so far.
    turns: u64,
    /// Woken by `session/cancel` while a prompt runs.
    cancel: Option<Rc<Notify>>,
}

/// The agent: sessions live on one connection, one thread.
pub(crate) struct EchoAgent {
    opts: EchoOptions,
    /// Set right after the connection exists (it needs the agent first).
    conn: OnceCell<acp::AgentSideConnection>,
    sessions: RefCell<HashMap<String, Live>>,
    next_id: Cell<u64>,
}

fn internal(e: impl std::fmt::Display) -> acp::Error {
    acp::Error::internal_error().with_data(e.to_string())
}

fn text_of(prompt: &[acp::ContentBlock]) -> String {
    prompt
        .iter()
        .filter_map(|block| match block {
            acp::ContentBlock::Text(t) => Some(t.text.as_str()),
            acp::ContentBlock::ResourceLink(link) => Some(link.uri.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl EchoAgent {
    /// A fresh agent with no sessions.
    pub(crate) fn new(opts: EchoOptions) -> Self {
        Self { opts, conn: OnceCell::new(), sessions: RefCell::new(HashMap::new()), next_id: Cell::new(0) }
    }

    /// Hands the agent the connection it talks back through.
    pub(crate) fn attach(&self, conn: acp::AgentSideConnection) {
        // Called once, right after the connection is made; a second call would
        // be a wiring bug and is ignored rather than replacing the live one.
        let _ = self.conn.set(conn);
    }

    fn conn(&self) -> Result<&acp::AgentSideConnection, acp::Error> {
        self.conn.get().ok_or_else(|| internal("connection not attached"))
    }

    fn new_session_id(&self) -> String {
        let n = self.next_id.get() + 1;
        self.next_id.set(n);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("echo-{}-{nanos}-{n}", std::process::id())
    }

    async fn say(&self, session: &acp::SessionId, text: impl Into<String>) -> Result<(), acp::Error> {
        let update = acp::SessionUpdate::AgentMessageChunk {
            content: acp::ContentBlock::Text(acp::TextContent { annotations: None, text: text.into(), meta: None }),
        };
        self.conn()?
            .session_notification(acp::SessionNotification { session_id: session.clone(), update, meta: None })
            .await
    }

    async fn ask_permission(&self, session: &acp::SessionId, kind: acp::ToolKind) -> Result<String, acp::Error> {
        let cwd = self.sessions.borrow().get(&*session.0).map(|s| s.cwd.clone()).unwrap_or_default();
        let option = |id: &str, name: &str, kind| acp::PermissionOption {
            id: acp::PermissionOptionId(id.into()),
            name: name.into(),
            kind,
            meta: None,
        };
        let title = if kind == acp::ToolKind::Read { "Read notes.txt" } else { "Edit notes.txt" };
        let request = acp::RequestPermissionRequest {
            session_id: session.clone(),
            tool_call: acp::ToolCallUpdate {
                id: acp::ToolCallId("echo-tool-1".into()),
                fields: acp::ToolCallUpdateFields {
                    kind: Some(kind),
                    title: Some(title.into()),
                    locations: Some(vec![acp::ToolCallLocation {
                        path: cwd.join("notes.txt"),
                        line: None,
                        meta: None,
                    }]),
                    ..Default::default()
                },
                meta: None,
            },
            options: vec![
                option("allow", "Allow", acp::PermissionOptionKind::AllowOnce),
                option("reject", "Reject", acp::PermissionOptionKind::RejectOnce),
            ],
            meta: None,
        };
        let answer = self.conn()?.request_permission(request).await?;
        Ok(match answer.outcome {
            acp::RequestPermissionOutcome::Cancelled => "cancelled".to_owned(),
            acp::RequestPermissionOutcome::Selected { option_id } => option_id.0.to_string(),
        })
    }

    /// Runs one turn to its stop reason; the caller keeps the books.
    async fn turn(&self, session: &acp::SessionId, text: &str, cancel: &Notify) -> Result<acp::StopReason, acp::Error> {
        match fault_in(text, self.opts.faults) {
            Some(Fault::Crash) => {
                self.say(session, "about to crash").await?;
                // Let the connection write the chunk before the process dies mid-turn.
                tokio::time::sleep(Duration::from_millis(200)).await;
                std::process::exit(CRASH_STATUS);
            }
            Some(Fault::Hang) => {
                self.say(session, "hanging until cancelled").await?;
                cancel.notified().await;
                return Ok(acp::StopReason::Cancelled);
            }
            Some(Fault::PermissionRead) => {
                let outcome = self.ask_permission(session, acp::ToolKind::Read).await?;
                self.say(session, format!("[permission {outcome}]\n")).await?;
            }
            Some(Fault::PermissionWrite) => {
                let outcome = self.ask_permission(session, acp::ToolKind::Edit).await?;
                self.say(session, format!("[permission {outcome}]\n")).await?;
            }
            Some(Fault::Drip) => {
                for n in 1..=DRIP_CHUNKS {
                    let pause = tokio::time::sleep(DRIP_PAUSE);
                    tokio::select! {
                        () = pause => self.say(session, format!("drip {n}/{DRIP_CHUNKS}\n")).await?,
                        () = cancel.notified() => return Ok(acp::StopReason::Cancelled),
                    }
                }
            }
            Some(Fault::Flood) => {
                for n in 1..=FLOOD_CHUNKS {
                    self.say(session, format!("f{n} ")).await?;
                }
            }
            None => {}
        }
        for piece in chunks(text) {
            self.say(session, piece).await?;
        }
        Ok(acp::StopReason::EndTurn)
    }
}

#[async_trait::async_trait(?Send)]
impl acp::Agent for EchoAgent {
    async fn initialize(&self, _args: acp::InitializeRequest) -> Result<acp::InitializeResponse, acp::Error> {
        Ok(acp::InitializeResponse {
            protocol_version: acp::V1,
            agent_capabilities: acp::AgentCapabilities { load_session: true, ..Default::default() },
            auth_methods: Vec::new(),
            meta: None,
        })
    }

    async fn authenticate(&self, _args: acp::AuthenticateRequest) -> Result<acp::AuthenticateResponse, acp::Error> {
        Ok(acp::AuthenticateResponse::default())
    }

    async fn new_session(&self, args: acp::NewSessionRequest) -> Result<acp::NewSessionResponse, acp::Error> {
        let id = self.new_session_id();
        store_turns(&args.cwd, &id, 0).map_err(internal)?;
        self.sessions.borrow_mut().insert(id.clone(), Live { cwd: args.cwd, turns: 0, cancel: None });
        Ok(acp::NewSessionResponse { session_id: acp::SessionId(id.into()), modes: None, meta: None })
    }

    async fn load_session(&self, args: acp::LoadSessionRequest) -> Result<acp::LoadSessionResponse, acp::Error> {
        let id = args.session_id.0.to_string();
        let turns = load_turns(&args.cwd, &id)
            .map_err(internal)?
            .ok_or_else(|| acp::Error::invalid_params().with_data(format!("unknown session {id}")))?;
        self.sessions.borrow_mut().insert(id, Live { cwd: args.cwd, turns, cancel: None });
        Ok(acp::LoadSessionResponse::default())
    }

    async fn prompt(&self, args: acp::PromptRequest) -> Result<acp::PromptResponse, acp::Error> {
        let id = args.session_id.0.to_string();
        let cancel = Rc::new(Notify::new());
        {
            let mut sessions = self.sessions.borrow_mut();
            let live = sessions
                .get_mut(&id)
                .ok_or_else(|| acp::Error::invalid_params().with_data(format!("unknown session {id}")))?;
            live.cancel = Some(cancel.clone());
        }
        let text = text_of(&args.prompt);
        let stop = self.turn(&args.session_id, &text, &cancel).await;
        let (turns, cwd) = {
            let mut sessions = self.sessions.borrow_mut();
            let live = sessions.get_mut(&id).ok_or_else(|| internal("session vanished"))?;
            live.cancel = None;
            if matches!(stop, Ok(acp::StopReason::EndTurn)) {
                live.turns += 1;
            }
            (live.turns, live.cwd.clone())
        };
        let stop = stop?;
        if stop == acp::StopReason::EndTurn {
            store_turns(&cwd, &id, turns).map_err(internal)?;
            self.say(&args.session_id, turn_marker(turns)).await?;
        }
        Ok(acp::PromptResponse { stop_reason: stop, meta: None })
    }

    async fn cancel(&self, args: acp::CancelNotification) -> Result<(), acp::Error> {
        // A fresh Notify per prompt: a cancel that finds no running prompt
        // leaves nothing behind to cancel the next one.
        if let Some(cancel) = self.sessions.borrow().get(&*args.session_id.0).and_then(|s| s.cancel.clone()) {
            cancel.notify_one();
        }
        Ok(())
    }
}
