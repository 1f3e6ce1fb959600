package dpop

import (
	"context"
	"errors"
	"strings"
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

// FuzzSameURL: whatever htu a proof names, the comparison never panics, is
// symmetric, and a URL that parses equals itself and its own normal form;
// an escaped "/" never equals the path with a real one.
func FuzzSameURL(f *testing.F) {
	f.Add("https://api.example.com/auth/refresh", "https://API.example.com:443/auth/%72efresh")
	f.Add("https://a.example/a%2Fb", "https://a.example/a/b")
	f.Add("https://a.example/caf%c3%a9?x#y", "http://a.example/%")
	f.Fuzz(func(t *testing.T, a, b string) {
		if SameURL(a, b) != SameURL(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		n, ok := normalize(a)
		if !ok {
			return
		}
		if !SameURL(a, a) || !SameURL(a, n) {
			t.Fatalf("%q (normal form %q) not equal to itself", a, n)
		}
		if again, ok := normalize(n); !ok || again != n {
			t.Fatalf("normal form of %q not stable: %q then %q", a, n, again)
		}
		if strings.Contains(n, "%2F") && SameURL(n, strings.ReplaceAll(n, "%2F", "/")) {
			t.Fatalf("%q: an escaped slash equals a real one", n)
		}
	})
}
