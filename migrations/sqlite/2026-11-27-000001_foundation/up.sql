-- Foundation: organisation, accounts, the four lists, audit, jobs and the change log.
-- Conventions: ids are TEXT (UUIDv7 generated in Rust); times are BIGINT milliseconds
-- since the Unix epoch in UTC, written by the application (no database defaults);
-- JSON documents are TEXT; coordinates are WGS-84 DOUBLE PRECISION.

CREATE TABLE districts (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    hotline TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- 镇/街道: towns and sub-districts.
CREATE TABLE streets (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('town', 'sub_district')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX streets_district ON streets (district_id);

-- 社区 with a boundary polygon (GeoJSON MultiPolygon, WGS-84) and its bounding box,
-- so the point lookup index can be rebuilt without parsing every polygon twice.
CREATE TABLE communities (
    id TEXT PRIMARY KEY NOT NULL,
    street_id TEXT NOT NULL REFERENCES streets (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    boundary TEXT NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    min_lon DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    max_lon DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX communities_street ON communities (street_id);

-- 网格: grid cells inside a community.
CREATE TABLE grid_cells (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    boundary TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX grid_cells_community ON grid_cells (community_id);

-- 小区: residential compounds, named so reports and visits can say where in a community.
CREATE TABLE compounds (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (community_id, name)
);

-- 属地执法中队: territorial enforcement squads under a town or sub-district.
CREATE TABLE squads (
    id TEXT PRIMARY KEY NOT NULL,
    street_id TEXT REFERENCES streets (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- 城管驿站: public service stations.
CREATE TABLE service_stations (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts (id),
    community_id TEXT REFERENCES communities (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('resident', 'officer', 'party_member',
        'community_staff', 'supervisor', 'department', 'admin')),
    display_name TEXT NOT NULL,
    phone TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    squad_id TEXT REFERENCES squads (id),
    -- Departments: the joint-meeting office or a department it coordinates.
    department_name TEXT,
    active BOOLEAN NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_role ON users (role);

-- Who covers what, with history: a change ends the current row (ended_at) and starts a
-- new one; rows are never deleted. kind says what target_id points at.
CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('officer_community', 'party_member_community',
        'staff_community', 'leader_street')),
    user_id TEXT NOT NULL REFERENCES users (id),
    target_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    assigned_by TEXT REFERENCES users (id),
    ended_by TEXT REFERENCES users (id),
    reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX assignments_user ON assignments (user_id, ended_at);
CREATE INDEX assignments_target ON assignments (target_id, ended_at);

-- Refresh tokens: only a SHA-256 of the opaque token is stored. A family is one login;
-- each use marks the row used and issues a successor in the same family.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- The successor is derived from this token with the server key (HMAC), so a retry
    -- inside the grace window can be answered with the same new token.
    successor_id TEXT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- One-time codes for resident registration; the pending password hash waits here
-- until the phone is verified.
CREATE TABLE otp_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    phone TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('register')),
    code_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX otp_challenges_phone ON otp_challenges (phone, created_at);

-- 岗位责任清单: post responsibilities.
CREATE TABLE duties (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    applies_to TEXT NOT NULL CHECK (applies_to IN ('officer', 'party_member', 'both')),
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- 重点管理事项 (key_item) and 协助事项 (assist): problem categories with deadlines.
CREATE TABLE categories (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('key_item', 'assist')),
    group_code TEXT NOT NULL,
    group_zh TEXT NOT NULL,
    group_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    sla_hours INTEGER NOT NULL CHECK (sla_hours > 0),
    default_class_721 TEXT NOT NULL CHECK (default_class_721 IN ('service', 'management',
        'enforcement')),
    duplicate_radius_m INTEGER NOT NULL CHECK (duplicate_radius_m > 0),
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Who did what to the organisation and accounts, for supervisors and auditors.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    actor_id TEXT REFERENCES users (id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- Background jobs run once per period however many servers are up: the first server
-- to insert (job, period_key) owns the run; a lease lets another take over after a crash.
CREATE TABLE job_runs (
    job TEXT NOT NULL,
    period_key TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT,
    PRIMARY KEY (job, period_key)
);

-- Facts about this database: the server epoch (a restore from backup gets a new one).
CREATE TABLE server_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
