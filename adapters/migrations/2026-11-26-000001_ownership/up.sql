-- Which gateway runs each session's agent, and when each gateway was last
-- heard of. SQLite serves one gateway, so its sessions stay unowned; the
-- tables exist so that both ledgers keep one schema (and one contract).
CREATE TABLE nodes (
    node_id      TEXT PRIMARY KEY NOT NULL,
    advertise_url TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

ALTER TABLE sessions ADD COLUMN owner_node TEXT;
