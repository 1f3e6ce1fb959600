package names_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/users/names"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Alice@Example.COM", "Alice@example.com"},
		{"bob+tag@sub.example.org", "bob+tag@sub.example.org"},
		{"jose\u0301@Exa\u0301mple.com", "jos\u00e9@ex\u00e1mple.com"},
		{"a@b@example.com", ""},
		{"Bob <bob@example.com>", ""},
		{"bob@example.com ", ""},
		{"bob@", ""},
		{"@example.com", ""},
		{"bob@-example.com", ""},
		{"bob@example..com", ""},
		{"\"bob\"@example.com", ""},
		{"bob\r\n@example.com", ""},
		{strings.Repeat("a", 65) + "@example.com", ""},
		{"bob@" + strings.Repeat("a", 250) + ".com", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := names.NormalizeEmail(tc.in)
			if tc.want == "" {
				if !errors.Is(err, names.ErrBadEmail) {
					t.Fatalf("%q: %q, %v; want ErrBadEmail", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzNormalizeEmail: no input panics it, and a normalised address is its
// own normal form (one stored spelling).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"Alice@Example.COM", "jose\u0301@Exa\u0301mple.com", "a@b@c", "Bob <b@x.y>", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := names.NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := names.NormalizeEmail(n)
		if err != nil || again != n {
			t.Fatalf("%q → %q → %q, %v", s, n, again, err)
		}
	})
}
