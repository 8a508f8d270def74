-- When a blob was last uploaded or referenced by a record. Unreferenced blobs untouched
-- for the grace period are deleted; an upload or a new reference moves this forward, and
-- because both are row updates they serialise with the deletion (which re-checks it).
ALTER TABLE blobs ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0;
UPDATE blobs SET touched_at = created_at;
-- Per-account quotas: an uploader's blobs, newest first.
CREATE INDEX blobs_uploader ON blobs (uploaded_by, created_at);
CREATE INDEX blobs_touched ON blobs (touched_at);
