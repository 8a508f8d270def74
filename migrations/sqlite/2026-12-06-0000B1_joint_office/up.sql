-- The district joint-meeting office (区联席办) is a flag of its own on a department
-- account, not "a department account without a department name": the office may carry a
-- name, and every other department account must. Accounts that met the old rule keep
-- being the office.
ALTER TABLE users ADD COLUMN joint_office BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET joint_office = TRUE WHERE role = 'department' AND department_name IS NULL;
