-- RevokeBefore: move the revocation watermark forward (never back), one row
-- whatever the number of sessions; returns the watermark in force.
INSERT INTO revocation (id, revoked_before) VALUES (true, @revoked_before)
ON CONFLICT (id) DO UPDATE SET revoked_before = greatest(revocation.revoked_before, excluded.revoked_before)
RETURNING revoked_before
