package mfa_test

import (
	"strings"
	"testing"
	"time"

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

// FuzzMatch: no code and no stored secret panics the check; only six
// digits ever match.
func FuzzMatch(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59))
	f.Add("not base32!", "000000", int64(0))
	f.Add("", "", int64(-1))
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		if _, ok := mfa.Match(secret, code, time.Unix(unix%(1<<40), 0)); ok && mfa.CheckCode(code) != nil {
			t.Fatalf("%q matched", code)
		}
	})
}
