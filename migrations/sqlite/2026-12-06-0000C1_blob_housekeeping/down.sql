DROP INDEX blobs_touched;
DROP INDEX blobs_uploader;
ALTER TABLE blobs DROP COLUMN touched_at;
