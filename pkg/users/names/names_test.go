package names_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/users"
	"github.com/rotor-auth/rotor/pkg/users/names"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		name, in, want string
		err            error
	}{
		{"lower-cased", "Alice", "alice", nil},
		{"trimmed", "  bob@example.com ", "bob@example.com", nil},
		{"latin with diacritics", "Ünïcødé.user_1+x-y", "ünïcødé.user_1+x-y", nil},
		{"fullwidth maps to ascii", "ａｄｍｉｎ", "admin", nil},
		{"fullwidth upper case", "ＡＤＭＩＮ", "admin", nil},
		{"decomposed accent composes (NFC)", "jose\u0301", "josé", nil},
		{"sharp s stays (lower-casing, not case folding)", "straße", "straße", nil},
		{"STRASSE is strasse", "STRASSE", "strasse", nil},
		{"capital sharp s lowers to sharp s", "STRAẞE", "straße", nil},
		{"cyrillic only", "Дмитрий", "дмитрий", nil},
		{"greek only", "Αλέξης", "αλέξης", nil},
		{"devanagari with its marks", "नमस्ते", "नमस्ते", nil},
		{"cjk with ascii digits", "山田_42", "山田_42", nil},
		{"script letters with common punctuation", "иван.петров@почта", "иван.петров@почта", nil},

		{"cyrillic a in a latin name", "аdmin", "", users.ErrMixedScripts},
		{"greek omicron in a latin name", "rοot", "", users.ErrMixedScripts},
		{"latin in a cyrillic name", "иванov", "", users.ErrMixedScripts},
		{"devanagari digit in a latin name", "admin\u0967", "", users.ErrMixedScripts},
		{"arabic-indic digit fails the bidi rule", "admin\u0661", "", users.ErrBadUsername},
		{"mixed scripts is a bad username", "аdmin", "", users.ErrBadUsername},

		{"too short", "ab", "", users.ErrBadUsername},
		{"too short after width mapping", "ａｂ", "", users.ErrBadUsername},
		{"too long", strings.Repeat("a", users.MaxUsernameLen+1), "", users.ErrBadUsername},
		{"longest", strings.Repeat("a", users.MaxUsernameLen), strings.Repeat("a", users.MaxUsernameLen), nil},
		{"too long in bytes", strings.Repeat("д", users.MaxUsernameLen/2+1), "", users.ErrBadUsername},
		{"inner space", "has space", "", users.ErrBadUsername},
		{"ideographic space", "has\u3000space", "", users.ErrBadUsername},
		{"tab", "tab\there", "", users.ErrBadUsername},
		{"nul", "nul\x00byte", "", users.ErrBadUsername},
		{"semicolon", "semi;colon", "", users.ErrBadUsername},
		{"zero width joiner", "ad\u200dmin", "", users.ErrBadUsername},
		{"right-to-left override", "ad\u202emin", "", users.ErrBadUsername},
		{"invalid utf-8", "bad\xffutf8", "", users.ErrBadUsername},
		{"symbol", "I♥you", "", users.ErrBadUsername},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := names.Normalize(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestNormalizeLookAlikes: spellings a person cannot tell apart are one
// account or refused, never two accounts.
func TestNormalizeLookAlikes(t *testing.T) {
	admin, err := names.Normalize("admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"ADMIN", "Admin", "ａｄｍｉｎ", "ＡＤＭＩＮ", " admin "} {
		if got, err := names.Normalize(in); err != nil || got != admin {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, admin)
		}
	}
	// Cyrillic а, Ukrainian і, Greek α. (Latin ɑ is one script with "dmin":
	// its Skeleton catches it, TestSkeletonLookAlikes.)
	for _, in := range []string{"аdmin", "admіn", "αdmin"} {
		if got, err := names.Normalize(in); err == nil && got != admin {
			t.Errorf("Normalize(%q) = %q: a second account that looks like %q", in, got, admin)
		}
	}
}

// TestNormalizeIdempotent: a stored name normalises to itself, so a login
// with the stored form always finds the account.
func TestNormalizeIdempotent(t *testing.T) {
	for _, in := range []string{"Alice", "ａｄｍｉｎ", "STRAẞE", "jose\u0301", "Дмитрий", "नमस्ते", "山田_42"} {
		once, err := names.Normalize(in)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", in, err)
		}
		if twice, err := names.Normalize(once); err != nil || twice != once {
			t.Errorf("Normalize(%q) = %q, %v; want %q", once, twice, err, once)
		}
	}
}
