-- SpendDPoPProof: spends a proof's replay key (no row returned when it is
-- spent and its window still open); a key whose window closed is spent
-- again (a client may not reuse a jti, but refusing it forever serves no
-- one). A bounded purge (@purge rows, SKIP LOCKED) deletes keys a minute past
-- their window, so the table holds about one window's proofs.
WITH purged AS (
	DELETE FROM dpop_proofs WHERE key IN (
		SELECT key FROM dpop_proofs
		WHERE expires_at < now() - interval '1 minute'
		ORDER BY expires_at LIMIT @purge::int
		FOR UPDATE SKIP LOCKED
	)
)
INSERT INTO dpop_proofs (key, expires_at)
VALUES (@key::text, @expires_at::timestamptz)
ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
	WHERE dpop_proofs.expires_at <= now()
RETURNING true
