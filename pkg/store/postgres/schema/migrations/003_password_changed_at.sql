-- When the password was last really changed (SetPasswordHash), NULL until
-- then: unlike updated_at, which signup and lock/unlock move too, it alone
-- opens the window in which /auth/password finishes a retried change.

ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
