DROP INDEX change_log_changed_at;
DROP INDEX change_log_record;
