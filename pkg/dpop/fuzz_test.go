package dpop

import (
	"context"
	"errors"
	"testing"
)

// FuzzDPoPProof: whatever a client sends in the DPoP header, Verify answers
// a proof or ErrInvalid/ErrUseNonce, never panics, and accepts nothing that
// was not signed by the key it names.
func FuzzDPoPProof(f *testing.F) {
	key := p256(f)
	f.Add(mustProof(f, key, Request{}))
	f.Add(mustProof(f, key, Request{AccessToken: "at"}))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, header string) {
		v := &Verifier{Replay: &Memory{}}
		p, err := v.Verify(context.Background(), header, check(Check{}))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUseNonce) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if p.JKT == "" || p.ID == "" {
			t.Fatalf("accepted proof without key or id: %+v", p)
		}
	})
}
