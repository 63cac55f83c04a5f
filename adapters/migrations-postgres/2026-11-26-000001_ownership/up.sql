-- Which gateway runs each session's agent (`owner_node`, set at create and
-- moved by a conditional UPDATE at takeover), and when each gateway was
-- last heard of (`nodes`, one row per gateway, written every heartbeat).
CREATE TABLE nodes (
    node_id      TEXT PRIMARY KEY NOT NULL,
    advertise_url TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

ALTER TABLE sessions ADD COLUMN owner_node TEXT;

-- The capped create, now recording its gateway as the owner in the same
-- insert (the body is the `open_session_counts` migration's otherwise).
DROP FUNCTION create_session_capped(TEXT, TEXT, TEXT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, BIGINT, TEXT);

CREATE FUNCTION create_session_capped(
    p_id TEXT, p_app TEXT, p_agent TEXT, p_meta TEXT, p_created_at BIGINT, p_last_turn_at BIGINT,
    p_closed_at BIGINT, p_close_reason TEXT, p_turn_count BIGINT,
    p_max_live BIGINT, p_max_per_app BIGINT,
    p_event TEXT, p_event_at BIGINT, p_detail TEXT, p_owner TEXT
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
    INSERT INTO sessions (id, app, agent, meta, created_at, last_turn_at, closed_at, close_reason, turn_count, owner_node)
        VALUES (p_id, p_app, p_agent, p_meta, p_created_at, p_last_turn_at, p_closed_at, p_close_reason, p_turn_count, p_owner);
    INSERT INTO session_events (session_id, event, at, detail) VALUES (p_id, p_event, p_event_at, p_detail);
    RETURN 'admitted';
END;
$$;
