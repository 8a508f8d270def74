-- 积分: points rules (configuration with effective dates), claims awaiting a supervisor,
-- and the ledger: append-only, each entry chained to the previous one by hash.

-- A rule's points as of a date; changing a rule adds a row and never rewrites entries.
CREATE TABLE points_rules (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    points INTEGER NOT NULL,
    description TEXT NOT NULL,
    effective_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (code, effective_from)
);

-- Manual claims and supervisor adjustments wait here; an approval appends a ledger entry.
CREATE TABLE points_claims (
    id TEXT PRIMARY KEY NOT NULL,
    officer_id TEXT NOT NULL REFERENCES users (id),
    rule_code TEXT NOT NULL,
    points INTEGER NOT NULL,
    note TEXT NOT NULL,
    claimed_by TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT REFERENCES users (id),
    decided_reason TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);

-- The ledger. `seq` is the gapless chain position, taken under the chain head's lock;
-- (source_kind, source_id, rule_code) is unique, so replaying an event never awards twice.
CREATE TABLE points_entries (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    officer_id TEXT NOT NULL REFERENCES users (id),
    rule_code TEXT NOT NULL,
    points INTEGER NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    reverses_seq BIGINT,
    actor_id TEXT,
    note TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (source_kind, source_id, rule_code)
);
CREATE INDEX points_entries_officer ON points_entries (officer_id, recorded_at);

-- The chain head, locked by every append so positions and hashes follow one order.
CREATE TABLE points_chain (
    id INTEGER PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO points_chain (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The default rules; admins add rows with a later effective date to change them.
INSERT INTO points_rules (id, code, points, description, effective_from, created_at) VALUES
    ('rule-visit_verified', 'visit_verified', 2, 'A verified visit (走访核验通过)', 0, 0),
    ('rule-weekly_compliance_met', 'weekly_compliance_met', 5, 'Twice-weekly visits met for a community', 0, 0),
    ('rule-weekly_compliance_missed', 'weekly_compliance_missed', -5, 'Twice-weekly visits missed for a community', 0, 0),
    ('rule-diary_on_time', 'diary_on_time', 1, 'Duty diary written on the day', 0, 0),
    ('rule-case_resolved_on_time', 'case_resolved_on_time', 3, 'Case resolved within its deadline', 0, 0),
    ('rule-case_overdue', 'case_overdue', -3, 'Case resolved after its deadline', 0, 0),
    ('rule-whistle_answered_on_time', 'whistle_answered_on_time', 3, 'Whistle taken within its deadline', 0, 0),
    ('rule-resident_rating_good', 'resident_rating_good', 2, 'Resident rated the result 4 or 5', 0, 0),
    ('rule-rework', 'rework', -2, 'Resolution sent back for rework', 0, 0),
    ('rule-manual_claim', 'manual_claim', 0, 'A claim approved by a supervisor', 0, 0),
    ('rule-supervisor_adjustment', 'supervisor_adjustment', 0, 'An adjustment by a supervisor', 0, 0);

-- Append-only, enforced by the database itself: no UPDATE, no DELETE.
CREATE TRIGGER points_entries_no_update BEFORE UPDATE ON points_entries
BEGIN
    SELECT RAISE(ABORT, 'the points ledger is append-only: add a reversal entry instead');
END;
CREATE TRIGGER points_entries_no_delete BEFORE DELETE ON points_entries
BEGIN
    SELECT RAISE(ABORT, 'the points ledger is append-only: add a reversal entry instead');
END;
