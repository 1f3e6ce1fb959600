package dpop

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// Nonces makes and checks server nonces (RFC 9449 §8) without storing them:
// a nonce is a time window's number and its MAC under the server's MAC key,
// valid in its window and the next, so every container of the deployment
// accepts every other's and a nonce lives between Period and twice that.
type Nonces struct {
	MAC    mac.Source
	Period time.Duration // DefaultNoncePeriod when zero
}

// DefaultNoncePeriod is a nonce's window.
const DefaultNoncePeriod = 5 * time.Minute

const nonceLabel = "dpop nonce"

func (n *Nonces) period() time.Duration {
	if n.Period > 0 {
		return n.Period
	}
	return DefaultNoncePeriod
}

func (n *Nonces) window(now time.Time) uint64 {
	return uint64(now.UnixNano() / int64(n.period()))
}

// errNoNonceKey: nonces are required but no key makes them. Not ErrInvalid:
// the request is answered 503, never let through without its nonce.
var errNoNonceKey = errors.New("dpop: server nonces on, but no MAC key to make them")

func (n *Nonces) keyring(ctx context.Context) (mac.Keyring, error) {
	if n.MAC == nil {
		return mac.Keyring{}, errNoNonceKey
	}
	ring, err := n.MAC.Keyring(ctx)
	if err != nil {
		return mac.Keyring{}, fmt.Errorf("dpop: nonce key: %w", err)
	}
	return ring, nil
}

// Issue returns the nonce of now's window.
func (n *Nonces) Issue(ctx context.Context, now time.Time) (string, error) {
	ring, err := n.keyring(ctx)
	if err != nil {
		return "", err
	}
	var w [8]byte
	binary.BigEndian.PutUint64(w[:], n.window(now))
	tag := ring.Sum(nonceLabel, w[:])[:16]
	return base64.RawURLEncoding.EncodeToString(append(w[:], tag...)), nil
}

// Valid reports whether nonce is one Issue made in now's window or the one
// before, under any key of the MAC ring (so a key rotation voids none).
func (n *Nonces) Valid(ctx context.Context, nonce string, now time.Time) (bool, error) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 24 {
		return false, nil
	}
	w := binary.BigEndian.Uint64(b[:8])
	cur := n.window(now)
	if w != cur && w+1 != cur {
		return false, nil
	}
	ring, err := n.keyring(ctx)
	if err != nil {
		return false, err
	}
	return ring.Verify(nonceLabel, b[8:], b[:8]), nil
}
