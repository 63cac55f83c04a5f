//! [`SessionView`] and [`SessionList`] written straight to JSON bytes with
//! serde, the same document poem-openapi's `to_json` builds as a
//! `serde_json::Value` tree first (see `Described::json_bytes`). The test
//! below compares both paths on every field, so a field added to or renamed
//! in the schema types fails it until this writer follows.

use super::session::SessionStatus;
use super::{Nullable, SessionList, SessionView};
use poem_openapi::types::ToJSON;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

/// A schema type borrowed for serde.
pub(super) struct Wrap<'a, T>(&'a T);

/// About what one session with small meta takes: a page's buffer is sized
/// once instead of doubling its way up from empty.
pub(super) const SESSION_BYTES: usize = 320;

/// The JSON bytes of `v` in a buffer of `capacity` to begin with, or `None`
/// (poem-openapi's path then) should serde refuse.
pub(super) fn bytes<T>(v: &T, capacity: usize) -> Option<Vec<u8>>
where
    for<'a> Wrap<'a, T>: Serialize,
{
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, &Wrap(v)).ok()?;
    Some(out)
}

impl<T: Serialize> Serialize for Wrap<'_, Nullable<T>> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0 .0.serialize(s)
    }
}

impl Serialize for Wrap<'_, SessionView> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut st = s.serialize_struct("SessionView", 12)?;
        st.serialize_field("ok", &v.ok)?;
        st.serialize_field("session_id", &v.session_id)?;
        st.serialize_field("agent", &v.agent)?;
        st.serialize_field("meta", &v.meta)?;
        let status = match v.status {
            SessionStatus::Open => "open",
            SessionStatus::Closed => "closed",
        };
        st.serialize_field("status", status)?;
        st.serialize_field("created_at", &v.created_at)?;
        st.serialize_field("last_turn_at", &Wrap(&v.last_turn_at))?;
        st.serialize_field("closed_at", &Wrap(&v.closed_at))?;
        st.serialize_field("close_reason", &Wrap(&v.close_reason))?;
        st.serialize_field("turn_count", &v.turn_count)?;
        st.serialize_field("running", &v.running)?;
        // Rare and small: poem-openapi's own JSON for each.
        let pending: Vec<_> = v.pending_permissions.iter().map(ToJSON::to_json).collect();
        st.serialize_field("pending_permissions", &pending)?;
        st.end()
    }
}

impl Serialize for Wrap<'_, SessionList> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.0;
        let mut st = s.serialize_struct("SessionList", 4)?;
        st.serialize_field("ok", &l.ok)?;
        st.serialize_field("count", &l.count)?;
        st.serialize_field("sessions", &Views(&l.sessions))?;
        st.serialize_field("next_cursor", &Wrap(&l.next_cursor))?;
        st.end()
    }
}

struct Views<'a>(&'a [SessionView]);

impl Serialize for Views<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&Wrap(v))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::schemas::stream::{PermissionEvent, PermissionOption};
    use serde_json::{json, Value};

    fn view(closed: bool) -> SessionView {
        SessionView {
            ok: true,
            session_id: "s-1".into(),
            agent: "echo".into(),
            meta: json!({"purpose": "review", "n": [1, 2, {"deep": null}], "quote": "a\"b\n"}),
            status: if closed { SessionStatus::Closed } else { SessionStatus::Open },
            created_at: 1_764_000_000,
            last_turn_at: Some(1_764_000_001).into(),
            closed_at: closed.then_some(1_764_000_002).into(),
            close_reason: closed.then(|| "client".to_owned()).into(),
            turn_count: 3,
            running: !closed,
            pending_permissions: if closed {
                Vec::new()
            } else {
                vec![PermissionEvent {
                    request_id: "r-1".into(),
                    seq: 7,
                    turn_index: 2,
                    tool_call: json!({"toolCallId": "t", "title": "edit"}),
                    options: vec![PermissionOption {
                        option_id: "allow".into(),
                        name: "Allow".into(),
                        kind: "allow_once".into(),
                    }],
                    expires_at: 1_764_000_100,
                }]
            },
        }
    }

    fn both<T: ToJSON>(v: &T, fast: Option<Vec<u8>>) -> (Value, Value) {
        let fast: Value = serde_json::from_slice(&fast.expect("written")).expect("valid JSON");
        (fast, v.to_json().expect("a value"))
    }

    #[test]
    fn a_session_written_directly_is_the_document_poem_openapi_builds() {
        for closed in [false, true] {
            let v = view(closed);
            let (fast, slow) = both(&v, bytes(&v, 1));
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn a_page_written_directly_is_the_document_poem_openapi_builds() {
        for next_cursor in [None, Some("123.s-1".to_owned())] {
            let page = SessionList {
                ok: true,
                count: 2,
                sessions: vec![view(false), view(true)],
                next_cursor: next_cursor.into(),
            };
            let (fast, slow) = both(&page, bytes(&page, 1));
            assert_eq!(fast, slow);
        }
        let empty = SessionList { ok: true, count: 0, sessions: Vec::new(), next_cursor: None.into() };
        let (fast, slow) = both(&empty, bytes(&empty, 1));
        assert_eq!(fast, slow);
    }
}
