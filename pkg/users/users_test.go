package users_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/users"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"Alice", "alice", nil},
		{"  bob@example.com ", "bob@example.com", nil},
		{"Ünïcødé.user_1+x-y", "ünïcødé.user_1+x-y", nil},
		{"ab", "", users.ErrBadUsername},
		{strings.Repeat("a", users.MaxUsernameLen+1), "", users.ErrBadUsername},
		{"has space", "", users.ErrBadUsername},
		{"tab\there", "", users.ErrBadUsername},
		{"nul\x00byte", "", users.ErrBadUsername},
		{"semi;colon", "", users.ErrBadUsername},
		{"bad\xffutf8", "", users.ErrBadUsername},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := users.Normalize(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}
