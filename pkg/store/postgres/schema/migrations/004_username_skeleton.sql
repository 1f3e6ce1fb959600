-- A username's UTS #39 skeleton (names.Skeleton) is unique like the username:
-- look-alikes of a name are that name. CreateUser writes it in the same
-- INSERT, so of two racing look-alikes the constraint lets one in.
--
-- Rows from before this migration get their username as skeleton (there is
-- no deployment with users yet; one that has users would backfill with
-- names.Skeleton, which no SQL can compute).
ALTER TABLE users ADD COLUMN skeleton text;
UPDATE users SET skeleton = username;
ALTER TABLE users ALTER COLUMN skeleton SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_skeleton_key UNIQUE (skeleton);
ALTER TABLE users ADD CONSTRAINT users_skeleton_check CHECK (skeleton <> '');
