-- 工作勤务日志: the duty diary. One row per version of an entry; `current` marks the
-- version in force. Edits before sign-off and inside the edit window overwrite the
-- current version; later edits add a version, and every version stays.
CREATE TABLE diary_entries (
    id TEXT PRIMARY KEY NOT NULL,
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    entry_date TEXT NOT NULL,
    shift TEXT NOT NULL,
    body TEXT NOT NULL,
    -- JSON: {"visits": [...], "cases": [...], "whistles": [...], "meetings": [...]}
    links TEXT NOT NULL,
    current BOOLEAN NOT NULL,
    signed_off_by TEXT REFERENCES users (id),
    signed_off_at BIGINT,
    observed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (entry_id, version)
);
CREATE INDEX diary_entries_author ON diary_entries (author_id, entry_date);

-- Supervisors' comments on an entry.
CREATE TABLE diary_comments (
    id TEXT PRIMARY KEY NOT NULL,
    entry_id TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX diary_comments_entry ON diary_comments (entry_id);
