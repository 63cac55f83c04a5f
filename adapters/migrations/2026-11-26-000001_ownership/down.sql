ALTER TABLE sessions DROP COLUMN owner_node;
DROP TABLE nodes;
