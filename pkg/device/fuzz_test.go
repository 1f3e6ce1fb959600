package device_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/device"
)

// FuzzCheck: no input panics the device-token parser, a token has exactly one
// spelling, and only a token issued for the username under the server key
// is trusted.
func FuzzCheck(f *testing.F) {
	r := ring(f, 2)
	// A fixed nonce: every fuzzing process must hold the same issued token.
	tok, err := device.Issue(r, "alice", 7, t0, bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[:len(tok)-4] + "\n\n\n\n")
	f.Add(device.Prefix)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		parsed, err := device.Check(r, "alice", s)
		if err != nil {
			return
		}
		if s != tok {
			t.Fatalf("%q trusted as alice's device (key %s); only %q was issued", s, parsed.Key(), tok)
		}
		if !strings.HasPrefix(parsed.Key(), "device#") || parsed.Epoch() != 7 || !parsed.IssuedAt().Equal(t0) {
			t.Fatalf("throttle key %q, epoch %d, issued %v", parsed.Key(), parsed.Epoch(), parsed.IssuedAt())
		}
	})
}
