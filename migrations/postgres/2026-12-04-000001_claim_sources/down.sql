DROP INDEX points_claims_work;
ALTER TABLE points_claims DROP COLUMN source_id;
ALTER TABLE points_claims DROP COLUMN source_kind;
