package mfa_test

import (
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mfa"
)

// FuzzParseToken: no input panics; what parses re-encodes to itself.
func FuzzParseToken(f *testing.F) {
	r := ring(f, 1)
	tok, _, _ := mfa.NewToken(r, nil)
	for _, s := range []string{tok, "rtm_", "rtm_" + strings.Repeat("A", 43), tok + "=", "rtm_\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := mfa.ParseToken(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, mfa.TokenPrefix) || len(p.ID) != 22 {
			t.Fatalf("%q parsed as %+v", s, p)
		}
		if _, err := mfa.CheckToken(r, s); err != nil && s == tok {
			t.Fatalf("the issued token: %v", err)
		}
	})
}

// FuzzRecoveryCode: no input panics; a normalised code is ten symbols of
// the alphabet and normalises to itself.
func FuzzRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcde-fghjk", "ABCDEFGHJK", " abcde-fghjk ", "abcde--ghjk", "ǅabcd-fghjk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := mfa.NormalizeRecoveryCode(s)
		if err != nil {
			return
		}
		again, err := mfa.NormalizeRecoveryCode(n)
		if err != nil || again != n || len(n) != 10 {
			t.Fatalf("%q normalised to %q, then %q, %v", s, n, again, err)
		}
	})
}
