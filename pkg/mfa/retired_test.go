package mfa_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
)

// retiring is ring(t, b, previous) whose retired keys are those bytes.
func retiring(t *testing.T, r mac.Keyring, retired ...byte) mac.Keyring {
	t.Helper()
	var keys [][]byte
	for _, b := range retired {
		keys = append(keys, bytes.Repeat([]byte{b}, 32))
	}
	out, err := r.WithRetired(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSealAfterTwoRotations, as the operator after two normal MAC
// rotations: a secret sealed under the key they retired opens (the ring
// keeps it as retired) and is not Current, so its next use re-seals it.
// After an emergency rotation (no retired keys) it is ErrKeyGone, which is
// not what a tampered secret under a held key answers.
func TestSealAfterTwoRotations(t *testing.T) {
	sealed, err := mfa.Seal(ring(t, 1), "usr_a", rfcSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	twice := retiring(t, ring(t, 3, 2), 1)
	if got, err := mfa.Open(twice, "usr_a", sealed); err != nil || got != rfcSecret {
		t.Fatalf("open after two rotations: %q, %v", got, err)
	}
	if mfa.Current(twice, sealed) {
		t.Fatal("sealed under a retired key, yet Current")
	}
	thrice := retiring(t, ring(t, 4, 3), 2, 1)
	if got, err := mfa.Open(thrice, "usr_a", sealed); err != nil || got != rfcSecret {
		t.Fatalf("open after three rotations: %q, %v", got, err)
	}
	if _, err := mfa.Open(twice, "usr_b", sealed); err == nil || errors.Is(err, mfa.ErrKeyGone) {
		t.Fatalf("another user under a retired key: %v, want ErrSealed but not ErrKeyGone", err)
	}
	emergency := ring(t, 5)
	if _, err := mfa.Open(emergency, "usr_a", sealed); !errors.Is(err, mfa.ErrKeyGone) || !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("after an emergency rotation: %v, want ErrKeyGone (an ErrSealed)", err)
	}
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	if _, err := mfa.Open(twice, "usr_a", string(flipped)); !errors.Is(err, mfa.ErrSealed) || errors.Is(err, mfa.ErrKeyGone) {
		t.Fatalf("tampered under a held key: %v, want ErrSealed, not ErrKeyGone", err)
	}
}

// TestMatchRecoveryCodeAfterRotations: a code hashed under a key two or
// three normal rotations retired still matches, under the key its stored
// id names; a wrong code does not; after an emergency rotation no code
// can match and the answer says the key is gone.
func TestMatchRecoveryCodeAfterRotations(t *testing.T) {
	codes, err := mfa.NewRecoveryCodes(nil)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, c := range codes {
		n, _ := mfa.NormalizeRecoveryCode(c)
		stored = append(stored, mfa.HashRecoveryCode(ring(t, 1), "usr_a", n))
	}
	n, _ := mfa.NormalizeRecoveryCode(codes[3])
	for name, r := range map[string]mac.Keyring{
		"same key":        ring(t, 1),
		"one rotation":    ring(t, 2, 1),
		"two rotations":   retiring(t, ring(t, 3, 2), 1),
		"three rotations": retiring(t, ring(t, 4, 3), 2, 1),
	} {
		got, err := mfa.MatchRecoveryCode(r, "usr_a", n, stored)
		if err != nil || got != stored[3] {
			t.Fatalf("%s: %q, %v; want the stored hash %q", name, got, err, stored[3])
		}
		if _, err := mfa.MatchRecoveryCode(r, "usr_b", n, stored); !errors.Is(err, mfa.ErrWrongRecoveryCode) {
			t.Fatalf("%s: another user's code: %v", name, err)
		}
		other, _ := mfa.NormalizeRecoveryCode("aaaaa-aaaaa")
		if _, err := mfa.MatchRecoveryCode(r, "usr_a", other, stored); !errors.Is(err, mfa.ErrWrongRecoveryCode) {
			t.Fatalf("%s: a wrong code: %v", name, err)
		}
	}
	if _, err := mfa.MatchRecoveryCode(ring(t, 5), "usr_a", n, stored); !errors.Is(err, mfa.ErrKeyGone) {
		t.Fatalf("after an emergency rotation: %v, want ErrKeyGone", err)
	}
	if _, err := mfa.MatchRecoveryCode(ring(t, 1), "usr_a", n, nil); !errors.Is(err, mfa.ErrWrongRecoveryCode) {
		t.Fatalf("no codes left: %v, want ErrWrongRecoveryCode", err)
	}
}

// BenchmarkOpenRetired opens a secret sealed under the oldest of n retired
// keys (the worst case: DeriveID tries every key of the ring before it).
func BenchmarkOpenRetired(b *testing.B) {
	for _, n := range []int{0, 16, 256} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = bytes.Repeat([]byte{byte(i)}, 32)
				keys[i][0] = 0xff
			}
			oldest := mac.Keyring{}
			if n > 0 {
				oldest, _ = mac.NewKeyring(keys[n-1])
			} else {
				oldest = ring(b, 3)
			}
			sealed, err := mfa.Seal(oldest, "usr_a", rfcSecret, nil)
			if err != nil {
				b.Fatal(err)
			}
			r, err := ring(b, 3, 2).WithRetired(keys...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := mfa.Open(r, "usr_a", sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
