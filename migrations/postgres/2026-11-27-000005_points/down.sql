DROP TABLE points_chain;
DROP TABLE points_entries;
DROP TABLE points_claims;
DROP TABLE points_rules;
DROP FUNCTION points_entries_append_only();
