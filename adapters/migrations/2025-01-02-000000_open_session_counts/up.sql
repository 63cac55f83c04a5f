-- Open sessions per app, kept by triggers inside every writing transaction,
-- so the capped create reads a few counter rows instead of counting all open
-- sessions (which made each create O(open sessions)).
CREATE TABLE open_session_counts (
    app TEXT PRIMARY KEY NOT NULL,
    n   BIGINT NOT NULL CHECK (n >= 0)
);

INSERT INTO open_session_counts (app, n)
    SELECT app, count(*) FROM sessions WHERE closed_at IS NULL GROUP BY app;

CREATE TRIGGER sessions_count_insert AFTER INSERT ON sessions WHEN NEW.closed_at IS NULL
BEGIN
    INSERT INTO open_session_counts (app, n) VALUES (NEW.app, 1)
        ON CONFLICT (app) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sessions_count_close AFTER UPDATE OF closed_at ON sessions
    WHEN OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL
BEGIN
    UPDATE open_session_counts SET n = n - 1 WHERE app = OLD.app;
END;

CREATE TRIGGER sessions_count_reopen AFTER UPDATE OF closed_at ON sessions
    WHEN OLD.closed_at IS NOT NULL AND NEW.closed_at IS NULL
BEGIN
    INSERT INTO open_session_counts (app, n) VALUES (NEW.app, 1)
        ON CONFLICT (app) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sessions_count_delete AFTER DELETE ON sessions WHEN OLD.closed_at IS NULL
BEGIN
    UPDATE open_session_counts SET n = n - 1 WHERE app = OLD.app;
END;
