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
// current key's first, then the previous ones, then the retired ones (keys
// normal rotations took out, which derive but never tag: WithRetired).
func (k Keyring) Derive(label string) []Derived {
	if k.current == nil {
		return nil
	}
	out := make([]Derived, 0, 1+len(k.previous)+len(k.retired))
	for _, key := range k.deriving() {
		out = append(out, Derived{
			ID:  keyID(key, label),
			Key: sum(key, "derive "+label, nil),
		})
	}
	return out
}

// deriving is every key Derive derives from: the current, the previous and
// the retired ones, in that order.
func (k Keyring) deriving() [][]byte {
	all := make([][]byte, 0, 1+len(k.previous)+len(k.retired))
	all = append(all, k.current)
	all = append(all, k.previous...)
	return append(all, k.retired...)
}

func keyID(key []byte, label string) string {
	return hex.EncodeToString(sum(key, "key id "+label, nil)[:4])
}

// DeriveID returns the key for label derived from the key of k whose id is
// id (current, previous or retired), and false when no key of k has that
// id: what opens a value stored with the id of the key it was made under,
// without deriving a key from every key of the ring.
func (k Keyring) DeriveID(label, id string) (Derived, bool) {
	if k.current == nil {
		return Derived{}, false
	}
	for _, key := range k.deriving() {
		if keyID(key, label) == id {
			return Derived{ID: id, Key: sum(key, "derive "+label, nil)}, true
		}
	}
	return Derived{}, false
}
