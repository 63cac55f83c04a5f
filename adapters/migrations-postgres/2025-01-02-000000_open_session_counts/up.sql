-- Open sessions per app, kept by triggers inside every writing transaction,
-- so the capped create reads a few counter rows instead of counting all open
-- sessions. The twin of the SQLite migration of the same name.
CREATE TABLE open_session_counts (
    app TEXT PRIMARY KEY NOT NULL,
    n   BIGINT NOT NULL CHECK (n >= 0)
);

INSERT INTO open_session_counts (app, n)
    SELECT app, count(*) FROM sessions WHERE closed_at IS NULL GROUP BY app;

CREATE FUNCTION open_session_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.closed_at IS NULL THEN
        UPDATE open_session_counts SET n = n - 1 WHERE app = OLD.app;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.closed_at IS NULL THEN
        INSERT INTO open_session_counts (app, n) VALUES (NEW.app, 1)
            ON CONFLICT (app) DO UPDATE SET n = open_session_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_count_insert AFTER INSERT ON sessions
    FOR EACH ROW WHEN (NEW.closed_at IS NULL) EXECUTE FUNCTION open_session_counts_keep();
CREATE TRIGGER sessions_count_update AFTER UPDATE OF closed_at, app ON sessions
    FOR EACH ROW WHEN ((OLD.closed_at IS NULL) <> (NEW.closed_at IS NULL) OR OLD.app <> NEW.app)
    EXECUTE FUNCTION open_session_counts_keep();
CREATE TRIGGER sessions_count_delete AFTER DELETE ON sessions
    FOR EACH ROW WHEN (OLD.closed_at IS NULL) EXECUTE FUNCTION open_session_counts_keep();

-- The capped create in one call, so the lock that queues creates from every
-- gateway is held for the server's few microseconds, never across a network
-- round trip. Under READ COMMITTED each statement of a VOLATILE function takes
-- a fresh snapshot: the counts, read after the lock, see everything the
-- previous holder committed (a commit is visible before its locks are
-- released). Returns 'admitted', 'pool_full' or 'app_quota'.
CREATE FUNCTION create_session_capped(
    p_id TEXT, p_app TEXT, p_agent TEXT, p_meta TEXT, p_created_at BIGINT, p_last_turn_at BIGINT,
    p_closed_at BIGINT, p_close_reason TEXT, p_turn_count BIGINT,
    p_max_live BIGINT, p_max_per_app BIGINT,
    p_event TEXT, p_event_at BIGINT, p_detail TEXT
) RETURNS TEXT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    total BIGINT;
    mine  BIGINT;
BEGIN
    -- The key is the ASCII of "cfcaps"; only creates take it.
    PERFORM pg_advisory_xact_lock(x'636663617073'::BIGINT);
    SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE app = p_app), 0)
        INTO total, mine FROM open_session_counts;
    IF total >= p_max_live THEN
        RETURN 'pool_full';
    END IF;
    IF mine >= p_max_per_app THEN
        RETURN 'app_quota';
    END IF;
    INSERT INTO sessions (id, app, agent, meta, created_at, last_turn_at, closed_at, close_reason, turn_count)
        VALUES (p_id, p_app, p_agent, p_meta, p_created_at, p_last_turn_at, p_closed_at, p_close_reason, p_turn_count);
    INSERT INTO session_events (session_id, event, at, detail) VALUES (p_id, p_event, p_event_at, p_detail);
    RETURN 'admitted';
END;
$$;
