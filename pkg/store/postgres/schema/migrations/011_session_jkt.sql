-- DPoP (issue 24, RFC 9449): the JWK SHA-256 thumbprint (RFC 7638) of the key
-- a session is bound to at login, never changed; NULL for a bearer session.
-- A rotation's condition requires it to be the presented proof's key.
-- (The number may be taken by another branch's migration: renumber at merge.)

ALTER TABLE sessions
	ADD COLUMN jkt text CHECK (length(jkt) BETWEEN 1 AND 64);
