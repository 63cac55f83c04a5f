DROP TABLE runs;
DROP TABLE session_events;
DROP TABLE turns;
DROP TABLE sessions;
DROP TABLE apps;
