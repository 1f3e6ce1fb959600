package mac

import "encoding/hex"

// Derived is a key derived from one key of a ring for one purpose, with a
// short public ID naming the ring key it came from: what a purpose that
// encrypts (not only tags) keeps beside its ciphertext, so it can still be
// opened under a previous key after a rotation.
type Derived struct {
	ID  string // 8 hex characters; not a secret
	Key []byte // 32 bytes
}

// Derive returns label's key derived from every key of the ring, the
// current key's first.
func (k Keyring) Derive(label string) []Derived {
	if k.current == nil {
		return nil
	}
	out := make([]Derived, 0, 1+len(k.previous))
	for _, key := range append([][]byte{k.current}, k.previous...) {
		out = append(out, Derived{
			ID:  hex.EncodeToString(sum(key, "key id "+label, nil)[:4]),
			Key: sum(key, "derive "+label, nil),
		})
	}
	return out
}
