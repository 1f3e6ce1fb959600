package onetime_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/onetime"
)

func ring(t testing.TB, b byte) mac.Keyring {
	r, err := mac.NewKeyring(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const id = "CQkJCQkJCQkJCQkJCQkJCQ" // 16 bytes of 9

func TestMintCheck(t *testing.T) {
	r := ring(t, 1)
	reset, err := onetime.Mint(r, onetime.PasswordReset, id)
	if err != nil {
		t.Fatal(err)
	}
	verify, _ := onetime.Mint(r, onetime.VerifyEmail, id)
	if !strings.HasPrefix(reset, "rtp_") || !strings.HasPrefix(verify, "rtv_") || len(reset) != 4+43 {
		t.Fatalf("tokens %q %q", reset, verify)
	}
	flipped := []byte(reset)
	flipped[len(flipped)-2] ^= 1
	cases := []struct {
		name     string
		ring     mac.Keyring
		token    string
		purposes []onetime.Purpose
		want     error
	}{
		{"reset as reset", r, reset, []onetime.Purpose{onetime.PasswordReset}, nil},
		{"reset as verification", r, reset, []onetime.Purpose{onetime.VerifyEmail}, onetime.ErrMalformed},
		{"verify prefix on a reset body", r, "rtv_" + reset[4:], []onetime.Purpose{onetime.VerifyEmail}, onetime.ErrForged},
		{"another server's key", ring(t, 2), reset, []onetime.Purpose{onetime.PasswordReset}, onetime.ErrForged},
		{"tag changed", r, string(flipped), []onetime.Purpose{onetime.PasswordReset}, onetime.ErrForged},
		{"refresh-token prefix", r, "rtr_" + reset[4:], []onetime.Purpose{onetime.PasswordReset}, onetime.ErrMalformed},
		{"padded", r, reset + "=", []onetime.Purpose{onetime.PasswordReset}, onetime.ErrMalformed},
		{"short", r, reset[:len(reset)-1], []onetime.Purpose{onetime.PasswordReset}, onetime.ErrMalformed},
		{"empty", r, "", []onetime.Purpose{onetime.PasswordReset}, onetime.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := onetime.Check(tc.ring, tc.token, tc.purposes...)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("Check: %v, want %v", err, tc.want)
			}
			if err == nil && (tok.ID != id || tok.Purpose != onetime.PasswordReset) {
				t.Fatalf("token %+v", tok)
			}
		})
	}
	if _, err := onetime.Mint(r, onetime.PasswordReset, id+"A"); !errors.Is(err, onetime.ErrMalformed) {
		t.Fatalf("mint with a bad id: %v", err)
	}
	if _, err := onetime.Mint(r, "other", id); !errors.Is(err, onetime.ErrMalformed) {
		t.Fatalf("mint of an unknown purpose: %v", err)
	}
}

// FuzzParse: no input panics the parser, a token has exactly one spelling,
// and only a minted token checks under the server key.
func FuzzParse(f *testing.F) {
	r := ring(f, 3)
	var minted []string
	for _, p := range []onetime.Purpose{onetime.VerifyEmail, onetime.PasswordReset, onetime.EmailChange} {
		tok, err := onetime.Mint(r, p, id)
		if err != nil {
			f.Fatal(err)
		}
		minted = append(minted, tok)
		f.Add(tok)
	}
	f.Add("rtp_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := onetime.Parse(s)
		if err != nil {
			return
		}
		again, err := onetime.Mint(r, tok.Purpose, tok.ID)
		if err != nil {
			t.Fatalf("parsed %q to id %q, which does not mint: %v", s, tok.ID, err)
		}
		_, err = onetime.Check(r, s, onetime.VerifyEmail, onetime.PasswordReset, onetime.EmailChange)
		if (err == nil) != (again == s) {
			t.Fatalf("%q checks %v; the minted token of its id is %q", s, err, again)
		}
		if err == nil && tok.ID == id && !strings.Contains(strings.Join(minted, " "), s) {
			t.Fatalf("%q trusted, never minted", s)
		}
	})
}
