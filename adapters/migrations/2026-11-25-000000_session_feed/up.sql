-- A session's feed: every event a client can watch or replay, numbered per
-- session (`seq` only grows). Rows go when their session is purged.
CREATE TABLE session_feed (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    turn_index BIGINT,
    at         BIGINT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
