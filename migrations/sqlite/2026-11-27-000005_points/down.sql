DROP TABLE points_chain;
DROP TABLE points_entries;
DROP TABLE points_claims;
DROP TABLE points_rules;
