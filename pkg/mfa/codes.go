package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// RecoveryCodes is how many recovery codes a set holds.
const RecoveryCodes = 10

// codeAlphabet is lower-case base32 without the letters people confuse
// with digits (no i, l, o, u): 32 symbols, 5 bits each.
const codeAlphabet = "abcdefghjkmnpqrstvwxyz0123456789"

// codeLen is a code's symbols: 10 × 5 = 50 random bits, shown as two
// groups of five ("abcde-fghjk").
const codeLen = 10

const codeLabel = "mfa recovery code v1"

// ErrBadRecoveryCode means a string is not a recovery code's spelling.
var ErrBadRecoveryCode = errors.New("mfa: malformed recovery code")

// ErrWrongRecoveryCode means a recovery code is not one of the user's.
var ErrWrongRecoveryCode = errors.New("mfa: wrong recovery code")

// NewRecoveryCodes returns RecoveryCodes fresh codes from r (crypto/rand
// when nil), as shown to the user once.
func NewRecoveryCodes(r io.Reader) ([]string, error) {
	if r == nil {
		r = rand.Reader
	}
	out := make([]string, RecoveryCodes)
	b := make([]byte, codeLen)
	for i := range out {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("mfa: recovery code: %w", err)
		}
		var sb strings.Builder
		for j, x := range b {
			if j == codeLen/2 {
				sb.WriteByte('-')
			}
			sb.WriteByte(codeAlphabet[x%32])
		}
		out[i] = sb.String()
	}
	return out, nil
}

// NormalizeRecoveryCode reads a code as a person may type it: any case,
// with or without the dash and surrounding spaces.
func NormalizeRecoveryCode(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == codeLen+1 && s[codeLen/2] == '-' {
		s = s[:codeLen/2] + s[codeLen/2+1:]
	}
	if len(s) != codeLen {
		return "", ErrBadRecoveryCode
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(codeAlphabet, s[i]) < 0 {
			return "", ErrBadRecoveryCode
		}
	}
	return s, nil
}

// HashRecoveryCode is the keyed hash a store keeps of a normalised code of
// userID, under ring's current key: "<key id>:<hex of 128 bits>". The key
// id lets a code hashed before a key rotation still be found
// (RecoveryCodeHashes).
func HashRecoveryCode(ring mac.Keyring, userID, code string) string {
	return RecoveryCodeHashes(ring, userID, code)[0]
}

// RecoveryCodeHashes returns the hash of code under every key of ring
// (current, previous and retired), the current first: the stored set holds
// the code under one of them. MatchRecoveryCode derives only the keys the
// stored set names.
func RecoveryCodeHashes(ring mac.Keyring, userID, code string) []string {
	var out []string
	for _, k := range ring.Derive(codeLabel) {
		sub, err := mac.NewKeyring(k.Key)
		if err != nil {
			continue
		}
		h := sub.Sum(codeLabel, []byte(userID), []byte(code))
		out = append(out, k.ID+":"+hex.EncodeToString(h[:16]))
	}
	return out
}

// MatchRecoveryCode looks the normalised code of userID up in stored (a
// factor's hashes): it hashes code under the key each stored hash names
// (current, previous or retired key of ring) and returns the stored hash
// that matches. With no match, it returns ErrKeyGone when none of the keys
// the stored hashes name is in ring any more (an emergency MAC rotation
// voided the set: no code can match), else ErrWrongRecoveryCode.
func MatchRecoveryCode(ring mac.Keyring, userID, code string, stored []string) (string, error) {
	tried := map[string]bool{}
	held := false
	for _, s := range stored {
		id, _, ok := strings.Cut(s, ":")
		if !ok || tried[id] {
			continue
		}
		tried[id] = true
		k, ok := ring.DeriveID(codeLabel, id)
		if !ok {
			continue
		}
		held = true
		sub, err := mac.NewKeyring(k.Key)
		if err != nil {
			continue
		}
		h := sub.Sum(codeLabel, []byte(userID), []byte(code))
		want := id + ":" + hex.EncodeToString(h[:16])
		for _, s := range stored {
			if subtle.ConstantTimeCompare([]byte(s), []byte(want)) == 1 {
				return s, nil
			}
		}
	}
	if !held && len(stored) > 0 {
		return "", ErrKeyGone
	}
	return "", ErrWrongRecoveryCode
}
