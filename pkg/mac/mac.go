package mac

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MinKeyLen is the shortest key material accepted, in bytes.
const MinKeyLen = 32

// MinTagLen is the shortest tag Verify accepts, in bytes (128 bits).
const MinTagLen = 16

// ErrShortKey means the key material is too short to be a MAC key.
var ErrShortKey = fmt.Errorf("mac: key material must be at least %d bytes", MinKeyLen)

// ErrNoKey means a secret holds no key material.
var ErrNoKey = errors.New("mac: no key")

// ErrBadSecret means a MAC secret version is JSON but not a valid one.
var ErrBadSecret = errors.New("mac: malformed secret")

// Keyring is the current key, which tags, and older keys, which still verify
// what they tagged, so the key can be replaced without invalidating every
// outstanding refresh token at once.
type Keyring struct {
	current  []byte
	previous [][]byte
	// retired are keys normal rotations took out of the ring: they derive
	// the keys of what a user stored long ago (Derive: a sealed TOTP
	// secret, a recovery code's hash) and nothing else. Sum and Verify
	// never use them, so a retired key tags and verifies no token.
	retired [][]byte
}

// NewKeyring returns a keyring tagging with current and also accepting previous.
func NewKeyring(current []byte, previous ...[]byte) (Keyring, error) {
	for _, k := range append([][]byte{current}, previous...) {
		if len(k) < MinKeyLen {
			return Keyring{}, ErrShortKey
		}
	}
	return Keyring{current: current, previous: previous}, nil
}

// WithRetired returns k with retired as its retired keys: keys a normal
// rotation took out of the ring, which Derive still derives from (so a
// TOTP secret sealed, or a recovery code hashed, under them still opens)
// but which never tag nor verify (Sum, Verify). A key already current or
// previous, or given twice, is kept once.
func (k Keyring) WithRetired(retired ...[]byte) (Keyring, error) {
	seen := map[string]bool{string(k.current): true}
	for _, p := range k.previous {
		seen[string(p)] = true
	}
	out := make([][]byte, 0, len(retired))
	for _, r := range retired {
		if len(r) < MinKeyLen {
			return Keyring{}, ErrShortKey
		}
		if !seen[string(r)] {
			seen[string(r)] = true
			out = append(out, r)
		}
	}
	k.retired = out
	return k, nil
}

// Retired is how many retired keys k holds (keys that only derive).
func (k Keyring) Retired() int { return len(k.retired) }

// Generate returns a keyring with one fresh random key (local runs and tests).
func Generate(r io.Reader) (Keyring, error) {
	if r == nil {
		r = rand.Reader
	}
	k := make([]byte, 32)
	if _, err := io.ReadFull(r, k); err != nil {
		return Keyring{}, fmt.Errorf("mac: generate: %w", err)
	}
	return NewKeyring(k)
}

// Sum returns the 32-byte tag of parts under label with the current key.
// Parts are length-prefixed, so ("ab","c") and ("a","bc") differ.
func (k Keyring) Sum(label string, parts ...[]byte) []byte {
	return sum(k.current, label, parts)
}

// Verify reports whether tag is Sum(label, parts...), or its first len(tag)
// bytes, under any key of the ring. Tags shorter than MinTagLen never verify.
func (k Keyring) Verify(label string, tag []byte, parts ...[]byte) bool {
	if len(tag) < MinTagLen || len(tag) > sha256.Size || k.current == nil {
		return false
	}
	ok := hmac.Equal(sum(k.current, label, parts)[:len(tag)], tag)
	for _, p := range k.previous {
		ok = hmac.Equal(sum(p, label, parts)[:len(tag)], tag) || ok
	}
	return ok
}

// Fingerprint returns a short, non-reversible identifier of s for logs.
func (k Keyring) Fingerprint(label, s string) string {
	return fmt.Sprintf("%x", k.Sum("fingerprint "+label, []byte(s))[:8])
}

func sum(key []byte, label string, parts [][]byte) []byte {
	sub := hmac.New(sha256.New, key)
	sub.Write([]byte("rotor mac v1 " + label))
	m := hmac.New(sha256.New, sub.Sum(nil))
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}
