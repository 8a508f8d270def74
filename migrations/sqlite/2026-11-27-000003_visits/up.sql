-- 走访: an officer's or party member's visit to a community, recorded in the field,
-- verified by stacking signals. A visit is never dropped: each failed check is a flag,
-- and a supervisor may accept a flagged visit with a written reason (audited here).
CREATE TABLE visits (
    id TEXT PRIMARY KEY NOT NULL,
    officer_id TEXT NOT NULL REFERENCES users (id),
    community_id TEXT NOT NULL REFERENCES communities (id),
    -- Device times: evidence, never order.
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    -- Server arrival.
    received_at BIGINT NOT NULL,
    -- JSON array of location fixes, WGS-84, with accuracy and the mock flag.
    fixes TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    photo_hashes TEXT NOT NULL,
    met TEXT NOT NULL,
    purpose TEXT NOT NULL,
    notes TEXT NOT NULL,
    class_721 TEXT NOT NULL CHECK (class_721 IN ('service', 'management', 'enforcement')),
    -- JSON array of reason codes (OUTSIDE_GEOFENCE ...); empty when verified.
    flags TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('verified', 'flagged', 'accepted')),
    accepted_by TEXT REFERENCES users (id),
    accepted_reason TEXT,
    accepted_at BIGINT,
    client_id TEXT,
    mutation_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX visits_officer ON visits (officer_id, started_at);
CREATE INDEX visits_community ON visits (community_id, started_at);
