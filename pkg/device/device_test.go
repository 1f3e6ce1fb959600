package device_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/device"
	"github.com/rotor-auth/rotor/pkg/mac"
)

func ring(t testing.TB, b byte, previous ...[]byte) mac.Keyring {
	t.Helper()
	r, err := mac.NewKeyring(bytes.Repeat([]byte{b}, 32), previous...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	old := ring(t, 1)
	cur := ring(t, 2, bytes.Repeat([]byte{1}, 32))
	tok, err := device.Issue(cur, "alice", 7, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	byOld, _ := device.Issue(old, "alice", 7, t0, nil)
	byStranger, _ := device.Issue(ring(t, 3), "alice", 7, t0, nil)
	bobs, _ := device.Issue(cur, "bob", 7, t0, nil)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, device.Prefix))
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	// The same nonce with bob's tag: a tag is bound to its username.
	bobRaw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(bobs, device.Prefix))
	spliced := append(append([]byte(nil), raw[:16]...), bobRaw[16:]...)
	// The epoch and the issue time are under the tag: a holder cannot move
	// an old token to the current epoch, or after a revoke-all.
	newerEpoch := append([]byte(nil), raw...)
	newerEpoch[23]++
	later := append([]byte(nil), raw...)
	later[30]++
	enc := func(b []byte) string { return device.Prefix + base64.RawURLEncoding.EncodeToString(b) }
	cases := []struct {
		name, user, token string
		want              error
	}{
		{"issued for the username", "alice", tok, nil},
		{"issued under the previous key", "alice", byOld, nil},
		{"issued for another username", "alice", bobs, device.ErrForged},
		{"another username's tag on this nonce", "alice", enc(spliced), device.ErrForged},
		{"checked for another username", "bob", tok, device.ErrForged},
		{"under a stranger's key", "alice", byStranger, device.ErrForged},
		{"one bit of the tag flipped", "alice", enc(flipped), device.ErrForged},
		{"epoch moved", "alice", enc(newerEpoch), device.ErrForged},
		{"issue time moved", "alice", enc(later), device.ErrForged},
		{"empty", "alice", "", device.ErrMalformed},
		{"no prefix", "alice", strings.TrimPrefix(tok, device.Prefix), device.ErrMalformed},
		{"another prefix", "alice", "rtr_" + strings.TrimPrefix(tok, device.Prefix), device.ErrMalformed},
		{"padded", "alice", tok + "=", device.ErrMalformed},
		{"standard alphabet", "alice", device.Prefix + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), device.ErrMalformed},
		{"too short", "alice", tok[:len(tok)-1], device.ErrMalformed},
		{"too long", "alice", tok + "A", device.ErrMalformed},
		{"refresh token", "alice", "rtr_" + base64.RawURLEncoding.EncodeToString(make([]byte, 48)), device.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := device.Check(cur, tc.user, tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v; want %v", err, tc.want)
			}
			if err == nil && (!strings.HasPrefix(tok.Key(), "device#") || tok.Epoch() != 7 || !tok.IssuedAt().Equal(t0)) {
				t.Fatalf("key %q, epoch %d, issued %v; want device#..., 7, %v", tok.Key(), tok.Epoch(), tok.IssuedAt(), t0)
			}
		})
	}
}

// TestOneSpelling: every other spelling of a valid token's bytes is refused,
// so one device can never hold two throttle keys.
func TestOneSpelling(t *testing.T) {
	cur := ring(t, 2)
	tok, _ := device.Issue(cur, "alice", 7, t0, nil)
	parsed, err := device.Check(cur, "alice", tok)
	key := parsed.Key()
	if err != nil {
		t.Fatal(err)
	}
	// 48 bytes fill 64 characters exactly: every other last character is
	// another token, whose tag fails.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	accepted := 0
	for _, c := range alphabet {
		alt := tok[:len(tok)-1] + string(c)
		if k, err := device.Check(cur, "alice", alt); err == nil {
			accepted++
			if k.Key() != key {
				t.Fatalf("another spelling %q verified with another key %q", alt, k)
			}
		}
	}
	if accepted != 1 {
		t.Fatalf("%d spellings of the last character verified; want exactly 1", accepted)
	}
	other, _ := device.Issue(cur, "alice", 7, t0, nil)
	if k2, _ := device.Check(cur, "alice", other); k2.Key() == key {
		t.Fatal("two issued tokens share a throttle key")
	}
}
