-- Working with the community (共建共治): meetings (议事会, 协调会, 恳谈会), public events and
-- suggestions (意见建议, 啄木鸟), recorded by staff in the field; and hotline tickets (12345)
-- that arrive as cases. Days are the district's calendar days as YYYY-MM-DD, like diary
-- entries, so a month's records are a range of text.
CREATE TABLE meetings (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    author_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    held_on TEXT NOT NULL,
    attendee_count INTEGER NOT NULL,
    participants TEXT NOT NULL,
    topics TEXT NOT NULL,
    settled TEXT NOT NULL,
    -- Problems settled at the meeting, counted by the bureau (未诉先办).
    settled_count INTEGER NOT NULL,
    observed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX meetings_community_day ON meetings (community_id, held_on);
CREATE INDEX meetings_day ON meetings (held_on);

CREATE TABLE public_events (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    author_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    held_on TEXT NOT NULL,
    place TEXT NOT NULL,
    attendance INTEGER NOT NULL,
    description TEXT NOT NULL,
    photo_hashes TEXT NOT NULL,
    observed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX public_events_community_day ON public_events (community_id, held_on);
CREATE INDEX public_events_day ON public_events (held_on);

CREATE TABLE suggestions (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    author_id TEXT NOT NULL REFERENCES users (id),
    from_kind TEXT NOT NULL,
    from_name TEXT NOT NULL,
    from_phone TEXT,
    body TEXT NOT NULL,
    received_on TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT REFERENCES users (id),
    answered_at BIGINT,
    observed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX suggestions_community_day ON suggestions (community_id, received_on);
CREATE INDEX suggestions_day ON suggestions (received_on);

-- One hotline ticket is one case: a repeated transfer of the same ticket finds it.
CREATE TABLE hotline_tickets (
    ticket_no TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL UNIQUE REFERENCES cases (id),
    hotline_category TEXT NOT NULL,
    -- The hotline's own deadline for its answer.
    due_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    transfers INTEGER NOT NULL,
    answer TEXT,
    answered_by TEXT REFERENCES users (id),
    answered_at BIGINT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The hotline integration account: may take in hotline tickets, nothing else staff do.
ALTER TABLE users ADD COLUMN hotline_intake BOOLEAN NOT NULL DEFAULT FALSE;
