package memory

import (
	"context"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

var _ dpop.ReplayCache = (*Store)(nil)

// SpendDPoPProof implements dpop.ReplayCache: keys spent and not yet
// expired (by the wall clock, as the other stores' TTLs are) refuse a
// second spend; expired keys are dropped as new ones come.
func (m *Store) SpendDPoPProof(_ context.Context, key string, expires time.Time) error {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.dpopProofs[key]; ok && now.Before(until) {
		return dpop.ErrReplayed
	}
	if m.dpopSpends++; m.dpopSpends%1024 == 0 {
		for k, until := range m.dpopProofs {
			if !now.Before(until) {
				delete(m.dpopProofs, k)
			}
		}
	}
	m.dpopProofs[key] = expires
	return nil
}
