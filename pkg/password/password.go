package password

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Length bounds of a password, in bytes. The upper bound keeps hashing cost
// independent of what a client sends.
const (
	MinLength = 8
	MaxLength = 128
)

// Errors returned by this package.
var (
	ErrMismatch  = errors.New("password: mismatch")
	ErrMalformed = errors.New("password: malformed hash")
	ErrTooShort  = fmt.Errorf("password: shorter than %d bytes", MinLength)
	ErrTooLong   = fmt.Errorf("password: longer than %d bytes", MaxLength)
	ErrNotUTF8   = errors.New("password: not valid UTF-8")
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// OWASP is the minimum OWASP's Password Storage Cheat Sheet recommends for
// argon2id: m=19 MiB, t=2, p=1.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash, so a corrupted row cannot
// make one verification allocate gigabytes.
const (
	maxMemory = 1024 * 1024 // 1 GiB
	maxTime   = 16
)

// Hasher hashes and verifies passwords with fixed parameters.
type Hasher struct {
	Params Params
	Rand   io.Reader // salts; crypto/rand when nil

	// dummy is a well-formed hash at Params that no known password matches:
	// verifying against it costs exactly what verifying a stored hash costs.
	dummy string
}

// NewHasher returns a Hasher, refusing parameters below OWASP's minimum.
func NewHasher(p Params, r io.Reader) (*Hasher, error) {
	if p.Memory < OWASP.Memory || p.Time < OWASP.Time || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
		return nil, fmt.Errorf("password: parameters %+v are below OWASP's minimum %+v", p, OWASP)
	}
	// The dummy needs no hashing: any salt and key of the right sizes make a
	// hash whose preimage nobody knows. Building it here costs nothing at a
	// cold start and makes the first unknown-user login cost the same as any.
	seed := sha256.Sum256([]byte("rotor dummy hash for unknown users"))
	salt := bytes.Repeat(seed[:], int(p.SaltLen)/len(seed)+1)[:p.SaltLen]
	key := bytes.Repeat(seed[:], int(p.KeyLen)/len(seed)+1)[:p.KeyLen]
	return &Hasher{Params: p, Rand: r, dummy: encode(p, salt, key)}, nil
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64(salt), b64(key))
}

// Check reports whether pw is within the length bounds.
func Check(pw string) error {
	switch {
	case len(pw) > MaxLength:
		return ErrTooLong
	case len(pw) < MinLength:
		return ErrTooShort
	case !utf8.ValidString(pw):
		return ErrNotUTF8
	}
	return nil
}

// Hash returns the PHC string of pw.
func (h *Hasher) Hash(pw string) (string, error) {
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, h.Params.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := h.Params
	return encode(p, salt, argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)), nil
}

// Verify checks pw against a PHC string in constant time.
func (h *Hasher) Verify(pw, phc string) error {
	p, salt, want, err := decode(phc)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// VerifyDummy spends the same work as Verify and always fails: call it when the
// user does not exist so the answer takes as long as a wrong password.
func (h *Hasher) VerifyDummy(pw string) error {
	_ = h.Verify(pw, h.dummy)
	return ErrMismatch
}

func decode(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
