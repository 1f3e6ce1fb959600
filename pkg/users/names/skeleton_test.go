package names_test

import (
	"testing"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/users/names"
)

// TestSkeletonLookAlikes: what a person cannot tell apart has one skeleton,
// so the second signup is "taken"; what looks different keeps its own.
func TestSkeletonLookAlikes(t *testing.T) {
	cases := []struct {
		name, a, b string
		same       bool
	}{
		// issue 19's look-alikes of admin and google, each one script
		{"dotted capital I lower-cases to i with a dot above", "ADMİN", "admin", true},
		{"dotless i with a dot above", "admı̇n", "admin", true},
		{"dotless i with a dot above is the lower-cased İ", "admı̇n", "ADMİN", true},
		{"dotless i", "admın", "admin", true},
		{"latin alpha", "ɑdmin", "admin", true},
		{"script g", "ɡoogle", "google", true},
		{"all-cyrillic look-alike of a latin name", "аре", "ape", true},
		{"all-greek look-alike of a latin name", "ορο", "opo", true},
		{"one is l", "paypa1", "paypal", true},
		// a decision (UTS #39's data, kept as is): rn and m are one name
		{"rn is m", "rnartin", "martin", true},
		{"decomposed and composed accents", "jose\u0301", "josé", true},
		{"dot above on j", "j\u0307ane", "jane", true},
		{"dot below then dot above on i", "i\u0323\u0307van", "i\u0323van", true},

		{"zero is not o", "r00t", "root", false},
		{"accent", "josé", "jose", false},
		{"sharp s", "straße", "strasse", false},
		{"a suffix", "admin", "admins", false},
		{"i and l", "ivan", "lvan", false},
		{"i with an acute is not i", "admín", "admin", false},
		{"a dot above a dot below stays on a", "a\u0323\u0307", "a\u0323", false},
		{"cyrillic name and its transliteration", "дмитрий", "dmitrij", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, errA := names.Normalize(tc.a)
			b, errB := names.Normalize(tc.b)
			if errA != nil || errB != nil {
				t.Fatalf("Normalize: %q %v, %q %v", tc.a, errA, tc.b, errB)
			}
			sa, sb := names.Skeleton(a), names.Skeleton(b)
			if (sa == sb) != tc.same {
				t.Fatalf("Skeleton(%q) = %+q, Skeleton(%q) = %+q; same = %v, want %v", a, sa, b, sb, sa == sb, tc.same)
			}
		})
	}
}

// TestSkeletonOfPlainNames: a name of letters that are their own prototypes
// is its own skeleton, so existing names keep their meaning.
func TestSkeletonOfPlainNames(t *testing.T) {
	for _, in := range []string{"alice", "bob@test.org", "a.b_c-d+e", "山田_42"} {
		if got := names.Skeleton(in); got != in {
			t.Errorf("Skeleton(%q) = %+q", in, got)
		}
	}
}

// FuzzSkeleton: every name that Normalize accepts has a skeleton that is
// valid UTF-8, not empty, and its own skeleton (so a stored skeleton never
// drifts from the one a later signup computes).
func FuzzSkeleton(f *testing.F) {
	for _, s := range []string{"admin", "ADMİN", "admı̇n", "ɑdmin", "ɡoogle", "rnartin", "i\u0323\u0307van", "नमस्ते", "Αλέξης"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, err := names.Normalize(in)
		if err != nil {
			return
		}
		s := names.Skeleton(name)
		if s == "" || !utf8.ValidString(s) {
			t.Fatalf("Skeleton(%q) = %+q", name, s)
		}
		if again := names.Skeleton(s); again != s {
			t.Fatalf("Skeleton(%q) = %+q, whose skeleton is %+q", name, s, again)
		}
	})
}

// TestSkeletonTableEdges: the lookup reads the confusables table to its
// first and last entries, so a look-alike built from either still meets its
// prototype (an off-by-one there panics on the first or lets the last pass
// as itself), and a character just outside the table is its own skeleton.
// Skeleton takes any string here, normalised or not: the first entry, '"',
// is no username character.
func TestSkeletonTableEdges(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"first entry", "\"", "''"},
		{"below the first entry", "!", "!"},
		{"last entry", "\U00032A8F", "\U0002EDB5"},
		{"past the last entry", "\U00032A90", "\U00032A90"},
		{"both edges in one name", "a\"b\U00032A8F", "a''b\U0002EDB5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := names.Skeleton(tc.in); got != tc.want {
				t.Fatalf("Skeleton(%+q) = %+q; want %+q", tc.in, got, tc.want)
			}
		})
	}
}
