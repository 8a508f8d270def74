-- What the case workflow needs beyond its status: when each step happened and when each
-- is due (deadlines per category: acceptance from the report, handling and closing from
-- the first dispatch, paused while deferred), the reporter's rating, follow-up links,
-- people who follow a case they did not report, and escalation to the district
-- joint-meeting office with one task per department (外循环).

-- Category deadlines: 立案 (accept) from the report; 处置 (sla_hours) and 结案 (close)
-- from the first dispatch. Closing includes verification, so it is never before handling.
ALTER TABLE categories ADD COLUMN accept_hours INTEGER NOT NULL DEFAULT 24;
ALTER TABLE categories ADD COLUMN close_hours INTEGER NOT NULL DEFAULT 96;
UPDATE categories SET close_hours = sla_hours + 48;

ALTER TABLE cases RENAME COLUMN deadline_at TO handle_due_at;
ALTER TABLE cases ADD COLUMN accept_due_at BIGINT;
ALTER TABLE cases ADD COLUMN close_due_at BIGINT;
ALTER TABLE cases ADD COLUMN accepted_at BIGINT;
ALTER TABLE cases ADD COLUMN dispatched_at BIGINT;
ALTER TABLE cases ADD COLUMN resolved_at BIGINT;
ALTER TABLE cases ADD COLUMN closed_at BIGINT;
-- 评价: the reporter's 1-5 rating of a closed case.
ALTER TABLE cases ADD COLUMN rating INTEGER;
-- A "not fixed" after the follow-up window opens a new case linked to the old one.
-- (No REFERENCES here: SQLite cannot drop a foreign-key column in down.sql; the API
-- only ever sets it to an existing case.)
ALTER TABLE cases ADD COLUMN follow_up_of TEXT;
CREATE INDEX cases_category_open ON cases (category_id, status);

-- Cases from before: when each step happened, from their recorded transitions, and
-- their deadlines from the category (pauses of old deferrals are not replayed).
UPDATE cases SET
    accepted_at = (SELECT MIN(a.recorded_at) FROM case_activities a
        WHERE a.case_id = cases.id AND a.kind = 'transition' AND a.to_status = 'accepted'),
    dispatched_at = (SELECT MIN(a.recorded_at) FROM case_activities a
        WHERE a.case_id = cases.id AND a.kind = 'transition' AND a.to_status = 'dispatched'),
    resolved_at = CASE WHEN status IN ('resolved', 'closed', 'evaluated') THEN
        (SELECT MAX(a.recorded_at) FROM case_activities a
        WHERE a.case_id = cases.id AND a.kind = 'transition' AND a.to_status = 'resolved') END,
    closed_at = CASE WHEN status IN ('closed', 'evaluated') THEN
        (SELECT MAX(a.recorded_at) FROM case_activities a
        WHERE a.case_id = cases.id AND a.kind = 'transition' AND a.to_status = 'closed') END;
UPDATE cases SET
    accept_due_at = created_at + 3600000 * (SELECT c.accept_hours FROM categories c
        WHERE c.id = cases.category_id),
    handle_due_at = dispatched_at + 3600000 * (SELECT c.sla_hours FROM categories c
        WHERE c.id = cases.category_id),
    close_due_at = dispatched_at + 3600000 * (SELECT c.close_hours FROM categories c
        WHERE c.id = cases.category_id);

-- People who follow a case they did not report: the reporter of a duplicate follows the
-- original, so they see its progress (rating stays the original reporter's).
CREATE TABLE case_followers (
    case_id TEXT NOT NULL REFERENCES cases (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    via_case_id TEXT REFERENCES cases (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followers_user ON case_followers (user_id);

-- 提交区联席办: an officer asks the joint-meeting office to take a problem the community
-- cannot solve; the office answers with department tasks (or declines with a reason).
CREATE TABLE escalations (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    community_id TEXT NOT NULL REFERENCES communities (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'tasked', 'declined', 'done',
        'cancelled')),
    reason TEXT NOT NULL,
    raised_by TEXT NOT NULL REFERENCES users (id),
    raised_at BIGINT NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at BIGINT,
    decision_note TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX escalations_case ON escalations (case_id);
CREATE INDEX escalations_status ON escalations (status, raised_at);

-- One department's part of an escalation, with its own deadline, so each department's
-- response time is reported separately.
CREATE TABLE department_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    department_id TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    instructions TEXT NOT NULL,
    assigned_by TEXT NOT NULL REFERENCES users (id),
    assigned_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    done_by TEXT REFERENCES users (id),
    done_at BIGINT,
    response TEXT,
    evidence TEXT NOT NULL,
    UNIQUE (escalation_id, department_id)
);
CREATE INDEX department_tasks_case ON department_tasks (case_id, status);
CREATE INDEX department_tasks_department ON department_tasks (department_id, status);
