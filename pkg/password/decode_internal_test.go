package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestDecodeBounds: the limits on a stored hash's parameters are inclusive,
// and one step past each is refused, without running argon2id (a corrupted
// row must not make a verification allocate gigabytes).
func TestDecodeBounds(t *testing.T) {
	b64 := func(n int) string { return base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("s", n))) }
	phc := func(m, tm, salt, key int) string {
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=1$%s$%s", m, tm, b64(salt), b64(key))
	}
	cases := []struct {
		name string
		phc  string
		ok   bool
	}{
		{"largest memory", phc(maxMemory, 2, 16, 32), true},
		{"memory past the limit", phc(maxMemory+1, 2, 16, 32), false},
		{"most passes", phc(19456, maxTime, 16, 32), true},
		{"passes past the limit", phc(19456, maxTime+1, 16, 32), false},
		{"shortest salt", phc(19456, 2, 8, 32), true},
		{"salt too short", phc(19456, 2, 7, 32), false},
		{"shortest key", phc(19456, 2, 16, 16), true},
		{"key too short", phc(19456, 2, 16, 15), false},
		{"salt not base64", strings.Replace(phc(19456, 2, 16, 32), "$"+b64(16)+"$", "$!!!!$", 1), false},
		{"key not base64", phc(19456, 2, 16, 32) + "!", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decode(tc.phc)
			if tc.ok && err != nil {
				t.Fatalf("decode(%s) = %v; want it accepted", tc.phc, err)
			}
			if !tc.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode(%s) = %v; want ErrMalformed", tc.phc, err)
			}
		})
	}
}
