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
