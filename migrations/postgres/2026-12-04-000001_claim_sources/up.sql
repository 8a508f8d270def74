-- A points claim is for one piece of work: (officer, rule, source) holds one claim, however
-- many devices or retries send it. The claim's id is made on the device, so a retried
-- request finds the claim it filed. A claim filed before names itself as its source.
ALTER TABLE points_claims ADD COLUMN source_kind TEXT NOT NULL DEFAULT 'claim';
ALTER TABLE points_claims ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
UPDATE points_claims SET source_id = id;
CREATE UNIQUE INDEX points_claims_work
    ON points_claims (officer_id, rule_code, source_kind, source_id);
