package dpop

import (
	"context"
	"sync"
	"time"
)

// Memory is a ReplayCache for one process: tests, and a program that runs
// alone. A deployment spends proofs in its store (SpendDPoPProof on every
// store), so that one proof is accepted once across all containers. It
// holds at most Max keys (DefaultMemoryMax when zero); when full it drops
// expired keys, and if none has expired it refuses new proofs
// (ErrCacheFull: a full cache fails closed) rather than forget a live one.
type Memory struct {
	Max int

	mu   sync.Mutex
	keys map[string]time.Time
	Now  func() time.Time
}

// DefaultMemoryMax bounds Memory.
const DefaultMemoryMax = 100_000

// ErrCacheFull is Memory refusing a proof because it cannot remember more.
var ErrCacheFull = errorString("dpop: replay cache full")

type errorString string

func (e errorString) Error() string { return string(e) }

// SpendDPoPProof implements ReplayCache.
func (m *Memory) SpendDPoPProof(_ context.Context, key string, expires time.Time) error {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = make(map[string]time.Time)
	}
	if until, ok := m.keys[key]; ok && now.Before(until) {
		return ErrReplayed
	}
	max := m.Max
	if max <= 0 {
		max = DefaultMemoryMax
	}
	if len(m.keys) >= max {
		for k, until := range m.keys {
			if !now.Before(until) {
				delete(m.keys, k)
			}
		}
		if len(m.keys) >= max {
			return ErrCacheFull
		}
	}
	m.keys[key] = expires
	return nil
}
