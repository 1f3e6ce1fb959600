package password_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rotor-auth/rotor/pkg/password"
)

// gate is a KDF that counts the runs inside it and holds each one until
// released, so a test sees how many run at once without any clock. A run
// beyond limit is recorded and not held, so a broken bound fails the test
// instead of hanging it.
type gate struct {
	limit    int32
	cur, max atomic.Int32
	entered  chan struct{}
	release  chan struct{}
}

func newGate(limit, runs int) *gate {
	return &gate{limit: int32(limit), entered: make(chan struct{}, runs), release: make(chan struct{}, runs)}
}

func (g *gate) kdf(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
	n := g.cur.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			break
		}
	}
	g.entered <- struct{}{}
	if n <= g.limit {
		<-g.release
	}
	g.cur.Add(-1)
	return make([]byte, keyLen)
}

// TestConcurrencyBounded: however many logins arrive at once, at most
// MaxConcurrent argon2id runs (each holding Params.Memory KiB) are in
// memory together; the rest wait their turn and all complete.
func TestConcurrencyBounded(t *testing.T) {
	const logins, limit = 24, 2
	for _, op := range []string{"hash", "verify"} {
		t.Run(op, func(t *testing.T) {
			h := newHasher(t)
			stored, err := h.Hash(context.Background(), "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			g := newGate(limit, logins)
			h.MaxConcurrent, h.KDF = limit, g.kdf
			var wg, started sync.WaitGroup
			errs := make(chan error, logins)
			for range logins {
				wg.Add(1)
				started.Add(1)
				go func() {
					defer wg.Done()
					started.Done()
					if op == "hash" {
						_, err := h.Hash(context.Background(), "correct horse battery")
						errs <- err
						return
					}
					if err := h.Verify(context.Background(), "correct horse battery", stored); !errors.Is(err, password.ErrMismatch) {
						errs <- err
					}
				}()
			}
			// Hold the first limit runs while every other login reaches
			// the hasher, then let them all through.
			started.Wait()
			for range limit {
				<-g.entered
			}
			for range 1000 {
				runtime.Gosched()
			}
			for range logins {
				g.release <- struct{}{}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if got := g.max.Load(); got > limit {
				t.Errorf("%d argon2id runs at once; want at most %d", got, limit)
			}
		})
	}
}

// TestWaitHonoursContext: a hash waiting for a slot gives up when its
// request's context ends, with that context's error, and takes no slot.
func TestWaitHonoursContext(t *testing.T) {
	h := newHasher(t)
	g := newGate(1, 4)
	h.MaxConcurrent, h.KDF = 1, g.kdf
	done := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "correct horse battery")
		done <- err
	}()
	<-g.entered // the only slot is taken

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "correct horse battery"); !errors.Is(err, context.Canceled) || g.max.Load() > 1 {
		t.Errorf("Hash with the slot taken and ctx cancelled = %v; want context.Canceled", err)
	}
	if err := h.Verify(ctx, "pw", mustHash(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify = %v; want context.Canceled", err)
	}
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustHash(t *testing.T) string {
	t.Helper()
	s, err := newHasher(t).Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
