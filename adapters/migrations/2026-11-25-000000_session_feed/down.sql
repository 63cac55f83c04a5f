DROP TABLE session_feed;
