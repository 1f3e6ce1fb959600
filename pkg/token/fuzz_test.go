package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// FuzzFromHeader: any Authorization header value either yields a non-empty
// token without surrounding space, behind a Bearer scheme, or nothing.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Bearer", "Bearer ", "Basic abc", " BEARER\tx", "Bearer a b", "", "Bearer \u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := token.FromHeader(h)
		if !ok {
			if tok != "" {
				t.Fatalf("FromHeader(%q) = %q, false: a token without ok", h, tok)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) {
			t.Fatalf("FromHeader(%q) = %q: empty or untrimmed", h, tok)
		}
		if scheme, _, _ := strings.Cut(strings.TrimSpace(h), " "); !strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("FromHeader(%q) accepted scheme %q", h, scheme)
		}
	})
}

// FuzzVerify: any string handed to Verify (with a static key set, so keys
// never fail) is either refused with ErrInvalid or yields claims with a
// subject and a session; it never panics.
func FuzzVerify(f *testing.F) {
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	k, err := keys.Generate("ES256", nil, at)
	if err != nil {
		f.Fatal(err)
	}
	src := keys.Static{Current: k}
	iss := &token.Issuer{Keys: src, Issuer: "rotor", Audience: "rotor-api", TTL: 15 * time.Minute}
	good, err := iss.Issue(context.Background(), token.Subject{UserID: "usr_1", Username: "ada", SessionID: "s1"}, at)
	if err != nil {
		f.Fatal(err)
	}
	v := &token.Verifier{Keys: src, Alg: "ES256", Issuer: "rotor", Audience: "rotor-api", Now: func() time.Time { return at }}
	head, rest, _ := strings.Cut(good, ".")
	for _, s := range []string{good, good + "x", head, head + "." + rest[:10], "..", "a.b.c", strings.ReplaceAll(good, ".", ".."), "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify(%q) = %v; want ErrInvalid", raw, err)
			}
			return
		}
		if c.Subject == "" || c.SessionID == "" {
			t.Fatalf("Verify(%q) accepted claims without sub or sid: %+v", raw, c)
		}
	})
}
