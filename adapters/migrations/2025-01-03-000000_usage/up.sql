-- What each turn and run reported it cost, stored as it is recorded so that
-- GET /usage sums columns instead of reading JSON.
ALTER TABLE turns ADD COLUMN cost_usd DOUBLE;
ALTER TABLE turns ADD COLUMN input_tokens BIGINT;
ALTER TABLE turns ADD COLUMN output_tokens BIGINT;
ALTER TABLE runs ADD COLUMN input_tokens BIGINT;
ALTER TABLE runs ADD COLUMN output_tokens BIGINT;
