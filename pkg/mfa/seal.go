package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rotor-auth/rotor/pkg/mac"
)

// sealLabel derives the secret-sealing key from the server MAC key.
const sealLabel = "mfa totp secret v1"

// sealVersion starts every sealed secret.
const sealVersion = "v1"

var (
	// ErrSealed means a sealed secret cannot be opened: malformed, sealed
	// for another user, tampered with, or under a key no longer in the ring.
	ErrSealed = errors.New("mfa: sealed secret cannot be opened")
	// ErrKeyGone means a sealed secret (or a recovery code's hash) names a
	// key the ring no longer holds, not even as retired: an emergency MAC
	// rotation voided it. Its owner needs rotor users mfa reset.
	ErrKeyGone = fmt.Errorf("%w: its key is no longer in the MAC keyring", ErrSealed)
)

// Seal encrypts a TOTP secret for userID with AES-256-GCM under the key
// derived from ring's current key: "v1.<key id>.<base64url(nonce|ciphertext)>".
// The user id is the additional data, so a row copied onto another user
// does not open. The store holds only this; the key lives in Secrets
// Manager.
func Seal(ring mac.Keyring, userID, secret string, r io.Reader) (string, error) {
	keys := ring.Derive(sealLabel)
	if len(keys) == 0 {
		return "", fmt.Errorf("mfa: seal: %w", mac.ErrNoKey)
	}
	if r == nil {
		r = rand.Reader
	}
	aead, err := gcm(keys[0].Key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return "", fmt.Errorf("mfa: seal: %w", err)
	}
	box := aead.Seal(nonce, nonce, []byte(secret), []byte(userID))
	return sealVersion + "." + keys[0].ID + "." + base64.RawURLEncoding.EncodeToString(box), nil
}

// Open decrypts what Seal returned for userID, under the key its key id
// names: derived from the ring's current, a previous or a retired key. A
// key id the ring does not hold is ErrKeyGone (which is also ErrSealed).
func Open(ring mac.Keyring, userID, sealed string) (string, error) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != sealVersion {
		return "", ErrSealed
	}
	box, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", ErrSealed
	}
	k, ok := ring.DeriveID(sealLabel, parts[1])
	if !ok {
		return "", ErrKeyGone
	}
	aead, err := gcm(k.Key)
	if err != nil {
		return "", err
	}
	if len(box) < aead.NonceSize() {
		return "", ErrSealed
	}
	plain, err := aead.Open(nil, box[:aead.NonceSize()], box[aead.NonceSize():], []byte(userID))
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}

// Current reports whether sealed is under ring's current key (a factor
// sealed under a previous one is re-sealed when next used).
func Current(ring mac.Keyring, sealed string) bool {
	keys := ring.Derive(sealLabel)
	return len(keys) > 0 && strings.HasPrefix(sealed, sealVersion+"."+keys[0].ID+".")
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mfa: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
