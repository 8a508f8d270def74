-- Change-log retention: compaction finds each record's latest row and the rows older than
-- the retention period without scanning the whole log.
CREATE INDEX change_log_record ON change_log (entity, entity_id, seq);
CREATE INDEX change_log_changed_at ON change_log (changed_at);
