package postgres

// QueuedRotations is how many RotateSession calls wait for a sender.
func (st *Store) QueuedRotations() int {
	st.rot.mu.Lock()
	defer st.rot.mu.Unlock()
	return len(st.rot.queue)
}

// RotationBatches returns the batches of two or more rotations sent, and
// the rotations sent again alone after their batch failed.
func (st *Store) RotationBatches() (batches, retried int64) {
	return st.rot.batches.Load(), st.rot.retried.Load()
}
