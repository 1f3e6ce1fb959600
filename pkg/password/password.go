package password

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
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

// KDF is argon2id's key derivation (argon2.IDKey's signature).
type KDF func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes and verifies passwords with fixed parameters. At most
// MaxConcurrent hashes run at once, so memory stays bounded (each run holds
// Params.Memory KiB) however many logins arrive together; the others wait
// for a slot, or until their context ends.
type Hasher struct {
	Params Params
	Rand   io.Reader // salts; crypto/rand when nil

	// MaxConcurrent bounds concurrent hashes; runtime.GOMAXPROCS(0) when 0:
	// argon2id is CPU-bound, so more at once only costs memory.
	MaxConcurrent int
	// KDF derives keys; argon2.IDKey when nil.
	KDF KDF

	once  sync.Once
	slots chan struct{}

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

// derive runs the KDF once a slot is free; it gives up with ctx's error if
// ctx ends first.
func (h *Hasher) derive(ctx context.Context, pw, salt []byte, p Params, keyLen uint32) ([]byte, error) {
	h.once.Do(func() {
		n := h.MaxConcurrent
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		h.slots = make(chan struct{}, n)
	})
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("password: waiting to hash: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	kdf := h.KDF
	if kdf == nil {
		kdf = argon2.IDKey
	}
	return kdf(pw, salt, p.Time, p.Memory, p.Threads, keyLen), nil
}

// Hash returns the PHC string of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, h.Params.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := h.Params
	key, err := h.derive(ctx, []byte(pw), salt, p, p.KeyLen)
	if err != nil {
		return "", err
	}
	return encode(p, salt, key), nil
}

// Verify checks pw against a PHC string in constant time. An error other
// than ErrMismatch or ErrMalformed is ctx's: nothing was checked.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) error {
	p, salt, want, err := decode(phc)
	if err != nil {
		return err
	}
	got, err := h.derive(ctx, []byte(pw), salt, p, uint32(len(want)))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// VerifyDummy spends the same work as Verify and always fails: call it when the
// user does not exist so the answer takes as long as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	if err := h.Verify(ctx, pw, h.dummy); !errors.Is(err, ErrMismatch) {
		return err
	}
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
