package mfa_test

import (
	"bytes"
	"fmt"

	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
)

// A TOTP secret is stored sealed under a key derived from the server MAC
// key; it opens for its user only, and after a rotation still opens under
// the previous key, which its key id names.
func ExampleSeal() {
	old, _ := mac.NewKeyring(bytes.Repeat([]byte{1}, 32))
	sealed, _ := mfa.Seal(old, "usr_a", "JBSWY3DPEHPK3PXP", nil)
	rotated, _ := mac.NewKeyring(bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32))
	secret, err := mfa.Open(rotated, "usr_a", sealed)
	_, other := mfa.Open(rotated, "usr_b", sealed)
	fmt.Println(secret, err, other, mfa.Current(rotated, sealed))
	// Output: JBSWY3DPEHPK3PXP <nil> mfa: sealed secret cannot be opened false
}
