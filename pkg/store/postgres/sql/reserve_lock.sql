-- Reserve, first statement of its batch (one implicit transaction): take the
-- transaction-level advisory lock of every attempt key, in one order, so the
-- next statement reads and counts them while no other reservation of the
-- same keys runs. In READ COMMITTED the next statement's snapshot is taken
-- after the locks are held: it sees every reservation that came before.
SELECT count(pg_advisory_xact_lock(h)) FROM (
	SELECT DISTINCT hashtextextended('rotor attempt ' || k, 0) AS h
	FROM unnest(@keys::text[]) AS k
	ORDER BY 1
) locks
