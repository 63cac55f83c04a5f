//! Server-sent event streams, read one event at a time.

use serde_json::Value;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `id:` field.
    pub id: Option<u64>,
    /// The `event:` field.
    pub event: String,
    /// The `data:` field, parsed.
    pub data: Value,
}

/// A server-sent event stream being read.
pub struct Sse {
    pub(crate) resp: reqwest::Response,
    pub(crate) buf: String,
    /// How many `: keep-alive` comments came so far.
    pub keep_alives: usize,
}

impl Sse {
    /// The status and content type of the response.
    pub fn head(&self) -> (u16, String) {
        let ct = self.resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        (self.resp.status().as_u16(), ct.to_owned())
    }

    /// The next event; `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.keep_alives += 1;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).expect("JSON data");
                return Some(SseEvent { id, event, data });
            }
            match self.resp.chunk().await {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).expect("utf-8")),
                _ => return None,
            }
        }
    }

    /// Every event until the stream ends.
    pub async fn rest(&mut self) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }
}
