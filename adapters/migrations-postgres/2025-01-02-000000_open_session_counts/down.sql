DROP FUNCTION create_session_capped(TEXT, TEXT, TEXT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, BIGINT, TEXT);
DROP TRIGGER sessions_count_delete ON sessions;
DROP TRIGGER sessions_count_update ON sessions;
DROP TRIGGER sessions_count_insert ON sessions;
DROP FUNCTION open_session_counts_keep();
DROP TABLE open_session_counts;
