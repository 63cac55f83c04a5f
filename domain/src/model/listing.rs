use super::{Session, SessionId, Timestamp};
use std::fmt;

/// Which sessions a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusFilter {
    /// Only open sessions.
    Open,
    /// Only closed sessions.
    Closed,
    /// Open and closed sessions alike (the default).
    #[default]
    All,
}

impl StatusFilter {
    /// Whether a session passes the filter.
    pub fn admits(self, s: &Session) -> bool {
        match self {
            Self::Open => s.is_open(),
            Self::Closed => !s.is_open(),
            Self::All => true,
        }
    }
}

/// Where a page of a newest-first listing resumes: after this (created_at, id).
///
/// Sessions are ordered by `created_at` descending, then `id` descending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListCursor {
    /// The last listed session's creation time.
    pub created_at: Timestamp,
    /// The last listed session's id.
    pub id: SessionId,
}

impl ListCursor {
    /// The cursor that resumes after `s`.
    pub fn after(s: &Session) -> Self {
        Self { created_at: s.created_at(), id: s.id().clone() }
    }

    /// Parses the opaque `<millis>.<id>` form clients send back.
    pub fn parse(raw: &str) -> Option<Self> {
        let (ms, id) = raw.split_once('.')?;
        let ms: i64 = ms.parse().ok()?;
        Some(Self { created_at: Timestamp::from_millis(ms), id: SessionId::new(id).ok()? })
    }

    /// Whether `s` comes after this cursor in listing order.
    pub fn precedes(&self, s: &Session) -> bool {
        (s.created_at(), s.id()) < (self.created_at, &self.id)
    }
}

impl fmt::Display for ListCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at.as_millis(), self.id)
    }
}

/// One page request of an app's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListQuery {
    /// Which sessions.
    pub status: StatusFilter,
    /// At most this many.
    pub limit: u32,
    /// Resume after this one.
    pub cursor: Option<ListCursor>,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPage {
    /// At most the page's limit, newest first.
    pub sessions: Vec<Session>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<ListCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_text() {
        let c = ListCursor {
            created_at: Timestamp::from_millis(1234),
            id: SessionId::new("abcdefghijklmnop-_").expect("valid"),
        };
        assert_eq!(ListCursor::parse(&c.to_string()), Some(c));
        assert_eq!(ListCursor::parse("garbage"), None);
        assert_eq!(ListCursor::parse("12.short"), None);
        assert_eq!(ListCursor::parse("x.abcdefghijklmnop"), None);
    }
}
