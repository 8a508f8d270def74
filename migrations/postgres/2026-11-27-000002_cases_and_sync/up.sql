-- Cases (problems), their append-only activity, photos by content hash, and the offline
-- sync bookkeeping: clients, applied mutations with their stored results, conflicts as
-- data, and the change log every write path appends to.

-- 案件: a problem, however it arrived. Ids may be generated on the device (UUIDv7), so
-- a report made offline keeps its id. Descriptive fields carry a revision each, so a
-- concurrent edit of the same field is detected and recorded.
CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES communities (id),
    grid_cell_id TEXT REFERENCES grid_cells (id),
    category_id TEXT NOT NULL REFERENCES categories (id),
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    close_outcome TEXT,
    description TEXT NOT NULL,
    description_rev BIGINT NOT NULL,
    notes TEXT NOT NULL,
    notes_rev BIGINT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    reporter_id TEXT REFERENCES users (id),
    reporter_anonymous BOOLEAN NOT NULL,
    -- 首接负责: who first received it and owns it until closed or handed over.
    first_contact_id TEXT REFERENCES users (id),
    handler_id TEXT REFERENCES users (id),
    priority TEXT NOT NULL,
    deadline_at BIGINT,
    resolved_by TEXT REFERENCES users (id),
    rework_count INTEGER NOT NULL,
    deferred_from TEXT,
    duplicate_of TEXT REFERENCES cases (id),
    self_handled BOOLEAN NOT NULL,
    class_721 TEXT NOT NULL,
    -- Device time of the report: evidence, never order.
    observed_at BIGINT,
    observed_at_suspect BOOLEAN NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX cases_community ON cases (community_id, status);
CREATE INDEX cases_reporter ON cases (reporter_id);

-- Every transition, edit, comment and rejected attempt on a case, append-only.
CREATE TABLE case_activities (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    actor_id TEXT REFERENCES users (id),
    actor_role TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    note TEXT NOT NULL,
    evidence TEXT NOT NULL,
    class_721 TEXT,
    observed_at BIGINT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX case_activities_case ON case_activities (case_id, recorded_at);

-- Photo bytes, stored once per content hash (SHA-256, lowercase hex).
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL
);

-- A photo referenced by a record. It exists before its bytes do (awaiting upload).
CREATE TABLE photos (
    id TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    community_id TEXT REFERENCES communities (id),
    added_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (owner_kind, owner_id, sha256)
);
CREATE INDEX photos_sha256 ON photos (sha256);

-- One row per device install: the last mutation id applied, contiguous per client.
CREATE TABLE sync_clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    last_mutation_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each applied mutation's outcome, written in the same transaction as its effects, so a
-- replay returns exactly the stored answer.
CREATE TABLE sync_mutations (
    client_id TEXT NOT NULL REFERENCES sync_clients (client_id),
    mutation_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    result TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
);

-- Anything but a clean apply: both values of a concurrent edit, a rejected transition,
-- a forbidden write. Delivered to the people concerned by pull.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    community_id TEXT REFERENCES communities (id),
    user_id TEXT REFERENCES users (id),
    client_id TEXT,
    mutation_id BIGINT,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX conflicts_entity ON conflicts (entity, entity_id);

-- The change log: every write path appends the new state of what it changed. A sequence
-- number is taken before commit, and transactions commit out of sequence order, so a
-- cursor over `seq` would skip a late commit. Instead every transaction that wrote
-- change rows stamps them, at commit time, with the next value of a single clock row: a
-- deferred trigger takes the clock's row lock and holds it until the commit completes,
-- so stamps are handed out in commit order and a pull ordered by (commit_seq, seq)
-- cannot skip a transaction that commits late. Rows are invisible until they are stamped.
CREATE TABLE sync_clock (
    id INTEGER PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO sync_clock (id, value) VALUES (1, 0);

CREATE TABLE change_log (
    seq BIGSERIAL PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    commit_seq BIGINT,
    community_id TEXT,
    user_id TEXT,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op TEXT NOT NULL,
    payload TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX change_log_tx ON change_log (txid) WHERE commit_seq IS NULL;
CREATE INDEX change_log_order ON change_log (commit_seq, seq);
CREATE INDEX change_log_community ON change_log (community_id, commit_seq, seq);
CREATE INDEX change_log_user ON change_log (user_id, commit_seq, seq);

CREATE FUNCTION change_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tick BIGINT;
BEGIN
    -- The trigger fires once per row at commit; the first call stamps every row of the
    -- transaction and leaves a transaction-local mark, so the others return at once
    -- (re-checking the rows each time would make a bulk insert quadratic).
    IF current_setting('patrol.change_log_stamped', true) = NEW.txid::text THEN
        RETURN NULL;
    END IF;
    UPDATE sync_clock SET value = value + 1 WHERE id = 1 RETURNING value INTO tick;
    UPDATE change_log SET commit_seq = tick WHERE txid = NEW.txid AND commit_seq IS NULL;
    PERFORM set_config('patrol.change_log_stamped', NEW.txid::text, true);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER change_log_stamp AFTER INSERT ON change_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION change_log_stamp();
