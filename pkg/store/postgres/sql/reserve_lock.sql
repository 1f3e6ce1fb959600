-- Reserve and Release, first statement of their batch (one implicit
-- transaction): take the transaction-level advisory lock of every attempt
-- key, in one order, so the next statement reads and counts them (or gives
-- back) while no other reservation or release of the same keys runs, and
-- two of them never deadlock on the rows. In READ COMMITTED the next statement's snapshot is taken
-- after the locks are held: it sees every reservation that came before.
SELECT count(pg_advisory_xact_lock(h)) FROM (
	SELECT DISTINCT hashtextextended('rotor attempt ' || k, 0) AS h
	FROM unnest(@keys::text[]) AS k
	ORDER BY 1
) locks
