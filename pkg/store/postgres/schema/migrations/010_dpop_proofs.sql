-- DPoP proofs spent (package dpop, dpop.ReplayCache): the replay key of each
-- accepted proof (a hash of its key's thumbprint and jti, never the proof)
-- until its iat window closes, so a proof is accepted once by every
-- container that shares this database.
-- (Other branches may add migrations: the number is the merge's to settle.)

CREATE TABLE dpop_proofs (
	key        text        PRIMARY KEY CHECK (length(key) = 43),
	expires_at timestamptz NOT NULL
);

-- What a purge of spent keys past their window looks for.
CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);
