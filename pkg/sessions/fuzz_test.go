package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// FuzzParseRefreshToken: no input panics the parser, a token has exactly one
// spelling (whatever parses re-encodes to the same string), and a refresh with
// any input other than a genuine token changes nothing.
func FuzzParseRefreshToken(f *testing.F) {
	m, st := manager(f, 10*time.Second)
	iss := start(f, m)
	f.Add(iss.RefreshToken)
	f.Add(iss.RefreshToken[:70] + "\r\n\r\n")
	f.Add("rtr_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := sessions.ParseRefreshToken(s)
		if err == nil && tok.String() != s {
			t.Fatalf("%q parses but re-encodes as %q: two spellings of one token", s, tok.String())
		}
		if s == iss.RefreshToken {
			return
		}
		_, err = m.Rotate(context.Background(), s, "", t0.Add(time.Second))
		if err == nil || errors.Is(err, sessions.ErrReused) {
			t.Fatalf("refresh with %q: %v", s, err)
		}
		if _, err := st.GetSession(context.Background(), iss.Session.ID); err != nil {
			t.Fatalf("refresh with %q ended the session: %v", s, err)
		}
	})
}
