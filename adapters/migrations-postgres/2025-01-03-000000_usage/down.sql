ALTER TABLE runs DROP COLUMN output_tokens;
ALTER TABLE runs DROP COLUMN input_tokens;
ALTER TABLE turns DROP COLUMN output_tokens;
ALTER TABLE turns DROP COLUMN input_tokens;
ALTER TABLE turns DROP COLUMN cost_usd;
