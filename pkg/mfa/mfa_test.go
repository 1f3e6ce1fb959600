package mfa_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
)

func ring(t testing.TB, b byte, previous ...byte) mac.Keyring {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, bytes.Repeat([]byte{p}, 32))
	}
	r, err := mac.NewKeyring(bytes.Repeat([]byte{b}, 32), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rfcSecret is RFC 6238 Appendix B's SHA-1 key, "12345678901234567890".
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// TestSeal: a sealed secret opens only under the key it was sealed with
// (current or previous: its id says which) and only for its user; tampering
// is detected.
func TestSeal(t *testing.T) {
	r1 := ring(t, 1)
	sealed, err := mfa.Seal(r1, "usr_a", rfcSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, rfcSecret) {
		t.Fatalf("sealed %q holds the secret", sealed)
	}
	if got, err := mfa.Open(r1, "usr_a", sealed); err != nil || got != rfcSecret {
		t.Fatalf("open: %q, %v", got, err)
	}
	if !mfa.Current(r1, sealed) {
		t.Fatal("sealed under the current key, not Current")
	}
	rotated := ring(t, 2, 1)
	if got, err := mfa.Open(rotated, "usr_a", sealed); err != nil || got != rfcSecret {
		t.Fatalf("open after a rotation (the old key previous): %q, %v", got, err)
	}
	if mfa.Current(rotated, sealed) {
		t.Fatal("sealed under the previous key, yet Current")
	}
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for name, c := range map[string]struct {
		ring   mac.Keyring
		user   string
		sealed string
	}{
		"another key":     {ring(t, 2), "usr_a", sealed},
		"another user":    {r1, "usr_b", sealed},
		"tampered":        {r1, "usr_a", string(flipped)},
		"not sealed":      {r1, "usr_a", rfcSecret},
		"empty":           {r1, "usr_a", ""},
		"truncated box":   {r1, "usr_a", sealed[:strings.LastIndexByte(sealed, '.')+4]},
		"the key removed": {ring(t, 3, 2), "usr_a", sealed},
	} {
		if _, err := mfa.Open(c.ring, c.user, c.sealed); !errors.Is(err, mfa.ErrSealed) {
			t.Fatalf("%s: %v, want ErrSealed", name, err)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := mfa.NewRecoveryCodes(nil)
	if err != nil || len(codes) != mfa.RecoveryCodes {
		t.Fatalf("%v, %v", codes, err)
	}
	seen := map[string]bool{}
	r1 := ring(t, 1)
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("code %q in %v", c, codes)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""), " " + c + "\n"} {
			n, err := mfa.NormalizeRecoveryCode(typed)
			if err != nil || n != strings.ReplaceAll(c, "-", "") {
				t.Fatalf("%q typed as %q: %q, %v", c, typed, n, err)
			}
		}
		n, _ := mfa.NormalizeRecoveryCode(c)
		h := mfa.HashRecoveryCode(r1, "usr_a", n)
		if strings.Contains(h, n) || h == mfa.HashRecoveryCode(r1, "usr_b", n) || h == mfa.HashRecoveryCode(ring(t, 2), "usr_a", n) {
			t.Fatalf("hash %q: keyed by user and key, never the code", h)
		}
		// After a rotation the stored hash is still among the candidates.
		if hs := mfa.RecoveryCodeHashes(ring(t, 2, 1), "usr_a", n); len(hs) != 2 || hs[1] != h {
			t.Fatalf("candidates after a rotation %v, want the old hash %q second", hs, h)
		}
	}
	for _, bad := range []string{"", "abcde-fghj", "abcde-fghjkl", "abcde_fghjk", "abcde-fghjo", "abcdefghjkm", "äbcde-fghjk"} {
		if _, err := mfa.NormalizeRecoveryCode(bad); !errors.Is(err, mfa.ErrBadRecoveryCode) {
			t.Fatalf("%q: %v, want ErrBadRecoveryCode", bad, err)
		}
	}
}

func TestToken(t *testing.T) {
	r1 := ring(t, 1)
	tok, id, err := mfa.NewToken(r1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, mfa.TokenPrefix) || strings.Contains(tok, id) && len(id) == 0 {
		t.Fatalf("token %q id %q", tok, id)
	}
	got, err := mfa.CheckToken(r1, tok)
	if err != nil || got.ID != id {
		t.Fatalf("check: %+v, %v", got, err)
	}
	if _, err := mfa.CheckToken(ring(t, 2, 1), tok); err != nil {
		t.Fatalf("check after a rotation: %v", err)
	}
	if _, err := mfa.CheckToken(ring(t, 2), tok); !errors.Is(err, mfa.ErrForgedToken) {
		t.Fatalf("another key: %v, want ErrForgedToken", err)
	}
	flipped := []byte(tok)
	flipped[len(flipped)-2] ^= 1
	if _, err := mfa.CheckToken(r1, string(flipped)); err == nil {
		t.Fatal("a flipped tag verified")
	}
	for _, bad := range []string{"", "rtm_", tok + "A", tok[:len(tok)-1], "rtp_" + tok[4:], strings.ToUpper(tok[:4]) + tok[4:], tok + "\n"} {
		if _, err := mfa.ParseToken(bad); !errors.Is(err, mfa.ErrMalformedToken) {
			t.Fatalf("%q: %v, want ErrMalformedToken", bad, err)
		}
	}
	if b := mfa.DeviceBinding(r1, "rtd_x"); b == "" || !mfa.BoundTo(r1, b, "rtd_x") || mfa.BoundTo(r1, b, "rtd_y") || mfa.BoundTo(r1, b, "") {
		t.Fatal("device binding")
	}
	if !mfa.BoundTo(r1, "", "") || mfa.BoundTo(r1, "", "rtd_x") {
		t.Fatal("a login without a device token binds to none")
	}
	// A login made with a DPoP proof: its second step needs the same key
	// (and device token); one without a proof binds to no key.
	for _, dev := range []string{"", "rtd_x"} {
		b := mfa.LoginBinding(r1, dev, "jkt-a")
		if b == "" || !mfa.BoundToLogin(r1, b, dev, "jkt-a") || mfa.BoundToLogin(r1, b, dev, "jkt-b") || mfa.BoundToLogin(r1, b, dev, "") {
			t.Fatalf("device %q: key binding", dev)
		}
		if mfa.BoundToLogin(r1, mfa.LoginBinding(r1, dev, ""), dev, "jkt-a") {
			t.Fatalf("device %q: a login without a key finished with one", dev)
		}
	}
	if mfa.LoginBinding(r1, "rtd_x", "") != mfa.DeviceBinding(r1, "rtd_x") {
		t.Fatal("without a key the binding is not the device binding it always was")
	}
}
