-- Release: forget the failures under @reset, give back one slot under each
-- key of @give_back (a row at its last failure goes: 0 failures lock nothing).
WITH reset AS (
	DELETE FROM login_attempts WHERE attempt_key = ANY (@reset::text[])
),
emptied AS (
	DELETE FROM login_attempts
	WHERE attempt_key = ANY (@give_back::text[]) AND NOT attempt_key = ANY (@reset::text[]) AND failures <= 1
)
UPDATE login_attempts SET failures = failures - 1
WHERE attempt_key = ANY (@give_back::text[]) AND NOT attempt_key = ANY (@reset::text[]) AND failures > 1
