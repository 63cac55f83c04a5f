//! A session's feed: numbered, durable, live.
//!
//! Every event is numbered under the session's write lock, written to the
//! ledger, and only then handed to live subscribers. So whatever a client
//! has seen is stored, a reader that replays the ledger and then follows the
//! live channel misses nothing, and `seq` only grows, across restarts (the
//! first append after a start continues from the ledger's last `seq`).

use crate::error::LedgerError;
use crate::model::{FeedEvent, FeedKind, SessionId, Timestamp};
use crate::ports::Ledger;
use async_lock::Mutex as AsyncMutex;
use futures::channel::mpsc;
use futures::stream::{self, Stream, StreamExt};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many events a live subscriber may fall behind before it is dropped
/// (it then catches up from the ledger).
const SUBSCRIBER_BACKLOG: usize = 1024;
/// How many events one ledger read replays.
const REPLAY_PAGE: u32 = 500;

/// An event before it has its number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub kind: FeedKind,
    pub turn_index: Option<u32>,
    pub at: Timestamp,
    pub data: Value,
}

#[derive(Default)]
struct Channel {
    /// The last `seq` written, once known; held while numbering and writing.
    last: AsyncMutex<Option<u64>>,
    subscribers: Mutex<Vec<mpsc::Sender<FeedEvent>>>,
}

/// Every session's feed.
pub(crate) struct FeedHub {
    ledger: Arc<dyn Ledger>,
    channels: Mutex<HashMap<SessionId, Arc<Channel>>>,
}

impl FeedHub {
    pub(crate) fn new(ledger: Arc<dyn Ledger>) -> Self {
        Self { ledger, channels: Mutex::new(HashMap::new()) }
    }

    fn channel(&self, id: &SessionId) -> Arc<Channel> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.clone()).or_default().clone()
    }

    /// Numbers, stores, then publishes `drafts`, in order; returns them numbered.
    pub(crate) async fn append(&self, id: &SessionId, drafts: Vec<Draft>) -> Result<Vec<FeedEvent>, LedgerError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let channel = self.channel(id);
        let mut last = channel.last.lock().await;
        let base = match *last {
            Some(seq) => seq,
            None => self.ledger.last_feed_seq(id).await?,
        };
        let mut events: Vec<FeedEvent> = drafts
            .into_iter()
            .zip(base + 1..)
            .map(|(d, seq)| FeedEvent { seq, kind: d.kind, turn_index: d.turn_index, at: d.at, data: d.data })
            .collect();
        match self.ledger.append_feed(id, &events).await {
            // Another gateway wrote this feed while it owned the session: number after its events.
            Err(LedgerError::Conflict(_)) if last.is_some() => {
                let base = self.ledger.last_feed_seq(id).await?;
                for (e, seq) in events.iter_mut().zip(base + 1..) {
                    e.seq = seq;
                }
                self.ledger.append_feed(id, &events).await?;
            }
            other => other?,
        }
        *last = events.last().map(|e| e.seq);
        let mut subscribers = channel.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        // A subscriber that cannot take an event is dropped: its stream ends,
        // and the reader catches up from the ledger.
        subscribers.retain_mut(|tx| events.iter().all(|e| tx.try_send(e.clone()).is_ok()));
        Ok(events)
    }

    /// Appends one event; its number.
    pub(crate) async fn append_one(&self, id: &SessionId, draft: Draft) -> Result<u64, LedgerError> {
        let events = self.append(id, vec![draft]).await?;
        Ok(events.first().map_or(0, |e| e.seq))
    }

    fn subscribe(&self, id: &SessionId) -> mpsc::Receiver<FeedEvent> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BACKLOG);
        self.channel(id).subscribers.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        rx
    }

    /// Forgets a session whose feed ends (closed or purged); its live readers' streams end.
    pub(crate) fn forget(&self, id: &SessionId) {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Every event after `after`, replayed from the ledger, then live ones;
    /// with `follow` false, only what the ledger holds. Ends after `closed`.
    pub(crate) fn stream(
        self: &Arc<Self>,
        id: SessionId,
        after: u64,
        follow: bool,
    ) -> impl Stream<Item = Result<FeedEvent, LedgerError>> + Send + 'static {
        let reader = Reader {
            hub: self.clone(),
            id,
            last: after,
            live: None,
            buffer: VecDeque::new(),
            caught_up: false,
            follow,
        };
        stream::unfold(Some(reader), |reader| async move {
            let mut reader = reader?;
            match reader.next().await {
                Ok(Some(event)) => {
                    let end = event.kind == FeedKind::Closed;
                    Some((Ok(event), (!end).then_some(reader)))
                }
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

struct Reader {
    hub: Arc<FeedHub>,
    id: SessionId,
    last: u64,
    live: Option<mpsc::Receiver<FeedEvent>>,
    buffer: VecDeque<FeedEvent>,
    /// Whether the last ledger read reached the end of what it holds.
    caught_up: bool,
    follow: bool,
}

impl Reader {
    async fn next(&mut self) -> Result<Option<FeedEvent>, LedgerError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                if event.seq > self.last {
                    self.last = event.seq;
                    return Ok(Some(event));
                }
                continue;
            }
            if !self.caught_up {
                // Subscribe first, then read: an event stored after the read
                // arrives live, one stored before it is in the read.
                if self.follow && self.live.is_none() {
                    self.live = Some(self.hub.subscribe(&self.id));
                }
                let page = self.hub.ledger.feed_after(&self.id, self.last, REPLAY_PAGE).await?;
                self.caught_up = page.len() < REPLAY_PAGE as usize;
                self.buffer.extend(page);
                continue;
            }
            let Some(live) = self.live.as_mut().filter(|_| self.follow) else { return Ok(None) };
            match live.next().await {
                Some(event) if event.seq <= self.last => {}
                Some(event) if event.seq == self.last + 1 => {
                    self.last = event.seq;
                    return Ok(Some(event));
                }
                // A gap (this reader fell behind and was dropped) or an ended
                // channel: catch up from the ledger.
                Some(_) | None => {
                    self.live = None;
                    self.caught_up = false;
                }
            }
        }
    }
}
