-- 社区吹哨、部门报到: community staff order help from city management (a whistle), the
-- community's lead signs it off where the community asks for that, city management
-- takes it within a deadline, and the community rates the response.

-- Per community: its lead (a community staff account who signs whistles off), whether a
-- whistle needs that sign-off, and the minutes city management has to take one.
ALTER TABLE communities ADD COLUMN lead_user_id TEXT REFERENCES users (id);
ALTER TABLE communities ADD COLUMN whistle_sign_off BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE communities ADD COLUMN whistle_take_minutes INTEGER NOT NULL DEFAULT 30;

-- The id may be made on the device, so a whistle raised offline keeps it. The deadline
-- clock starts at `raised_at` (when it went out to city management), not at creation.
CREATE TABLE whistles (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    raised_by TEXT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('pending_sign_off', 'declined', 'raised', 'taken', 'rated', 'withdrawn')),
    signed_off_by TEXT REFERENCES users (id),
    signed_off_at BIGINT,
    decline_reason TEXT,
    raised_at BIGINT,
    take_due_at BIGINT,
    taken_by TEXT REFERENCES users (id),
    taken_at BIGINT,
    -- Null until taken.
    taken_late BOOLEAN,
    response_note TEXT,
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment TEXT,
    rated_by TEXT REFERENCES users (id),
    rated_at BIGINT,
    -- Device time of the raise: evidence only.
    observed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX whistles_community ON whistles (community_id, raised_at);
CREATE INDEX whistles_raised ON whistles (raised_at);

-- Cases a whistle is about; each in the whistle's community.
CREATE TABLE whistle_cases (
    whistle_id TEXT NOT NULL REFERENCES whistles (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    PRIMARY KEY (whistle_id, case_id)
);
CREATE INDEX whistle_cases_case ON whistle_cases (case_id);
