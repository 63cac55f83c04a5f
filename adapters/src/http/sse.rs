//! Server-sent events: frames with an id, a name and one JSON line of data,
//! and a `: keep-alive` comment after every stretch of silence.

use bytes::Bytes;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use poem::{Body, Response};
use serde_json::Value;
use std::time::Duration;

/// One SSE frame.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    /// `id:`: the session's event sequence number, when it has one.
    pub id: Option<u64>,
    /// `event:`.
    pub event: &'static str,
    /// `data:` (serialised on one line).
    pub data: Value,
}

impl Frame {
    fn encode(&self) -> Bytes {
        let mut out = String::new();
        if let Some(id) = self.id {
            out.push_str(&format!("id: {id}\n"));
        }
        // serde_json never writes a raw newline, so the data is one `data:` line.
        out.push_str(&format!("event: {}\ndata: {}\n\n", self.event, self.data));
        Bytes::from(out)
    }
}

/// A `text/event-stream` response of `frames`, with a keep-alive comment
/// whenever `keep_alive` passes without one.
pub(super) fn response(frames: impl Stream<Item = Frame> + Send + 'static, keep_alive: Duration) -> Response {
    let frames: BoxStream<'static, Frame> = frames.boxed();
    let body = stream::unfold(Some(frames), move |frames| async move {
        let mut frames = frames?;
        match tokio::time::timeout(keep_alive, frames.next()).await {
            Ok(Some(frame)) => Some((Ok::<_, std::io::Error>(frame.encode()), Some(frames))),
            Ok(None) => None,
            Err(_) => Some((Ok(Bytes::from_static(b": keep-alive\n\n")), Some(frames))),
        }
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .body(Body::from_bytes_stream(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_frame_is_an_id_a_name_and_one_data_line() {
        let f = Frame { id: Some(7), event: "update", data: json!({"text": "a\nb"}) };
        assert_eq!(f.encode(), Bytes::from("id: 7\nevent: update\ndata: {\"text\":\"a\\nb\"}\n\n"));
        let f = Frame { id: None, event: "error", data: json!({}) };
        assert_eq!(f.encode(), Bytes::from("event: error\ndata: {}\n\n"));
    }

    #[tokio::test]
    async fn silence_is_filled_with_keep_alive_comments() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Frame>();
        let resp = response(rx, Duration::from_millis(20));
        let mut body = resp.into_body().into_bytes_stream();
        let first = body.next().await.expect("a comment").expect("bytes");
        assert_eq!(first, Bytes::from_static(b": keep-alive\n\n"));
        tx.unbounded_send(Frame { id: Some(1), event: "update", data: json!(1) }).expect("send");
        drop(tx);
        let mut rest = Vec::new();
        while let Some(chunk) = body.next().await {
            rest.push(chunk.expect("bytes"));
        }
        assert!(rest.contains(&Bytes::from("id: 1\nevent: update\ndata: 1\n\n")), "{rest:?}");
    }
}
