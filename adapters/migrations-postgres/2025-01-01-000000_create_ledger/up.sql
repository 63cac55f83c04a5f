-- The SQLite schema (adapters/migrations) in Postgres' words: same tables,
-- columns, indexes and names, so a migration there has its twin here.
-- Times are integer Unix milliseconds; JSON is stored as text. Session ids
-- are COLLATE "C": they sort bytewise, as in SQLite, whatever the locale.

CREATE TABLE apps (
    name       TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE sessions (
    id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    app          TEXT NOT NULL,
    agent        TEXT NOT NULL,
    meta         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_turn_at BIGINT,
    closed_at    BIGINT,
    close_reason TEXT,
    turn_count   BIGINT NOT NULL DEFAULT 0,
    CHECK ((closed_at IS NULL) = (close_reason IS NULL))
);

-- An app's listing, newest first, resumed after a (created_at, id) cursor.
CREATE INDEX sessions_by_app_newest ON sessions (app, created_at DESC, id DESC);
-- The idle sweep: open sessions by last activity.
CREATE INDEX sessions_open_by_activity ON sessions (coalesce(last_turn_at, created_at), id) WHERE closed_at IS NULL;
-- The hard-TTL purge: closed sessions by closing time.
CREATE INDEX sessions_closed_at ON sessions (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE turns (
    session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    turn_index  BIGINT NOT NULL,
    prompt      TEXT NOT NULL,
    files       TEXT NOT NULL,
    stop_reason TEXT NOT NULL,
    text        TEXT NOT NULL,
    events      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, turn_index)
);

CREATE TABLE session_events (
    id         BIGSERIAL PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    at         BIGINT NOT NULL,
    detail     TEXT NOT NULL
);

-- A session's trail in writing order; also what the cascade delete looks up.
CREATE INDEX session_events_by_session ON session_events (session_id, id);

-- One-shot runs: deliberately no prompt column.
CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    app         TEXT NOT NULL,
    model       TEXT,
    ok          BOOLEAN NOT NULL,
    stop_reason TEXT,
    duration_ms BIGINT NOT NULL,
    error       TEXT,
    cost_usd    DOUBLE PRECISION,
    at          BIGINT NOT NULL
);

CREATE INDEX runs_by_app_at ON runs (app, at);
