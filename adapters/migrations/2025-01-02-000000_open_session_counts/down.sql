DROP TRIGGER sessions_count_delete;
DROP TRIGGER sessions_count_reopen;
DROP TRIGGER sessions_count_close;
DROP TRIGGER sessions_count_insert;
DROP TABLE open_session_counts;
