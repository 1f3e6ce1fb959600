package main

import (
	"fmt"
	"strings"
	"testing"
)

// sample is tables.rs as unicode-security writes it, cut down: entries wrap
// across lines, and a prototype may be several characters.
func sample(entries string) string {
	return "pub const UNICODE_VERSION: (u64, u64, u64) = (18, 0, 0);\n" +
		"    const CONFUSABLES: &'static [(char, &'static [char])] = &[\n" + entries + "\n    ];\n"
}

func TestParse(t *testing.T) {
	var many strings.Builder
	for r := 0x4e00; r < 0x4e00+1200; r++ {
		fmt.Fprintf(&many, "('\\u{%x}',  &['\\u{%x}']), ", r, r+0x1000)
	}
	cases := []struct {
		name, in string
		want     map[rune]string
		err      bool
	}{
		{"wrapped entries, sorted", sample(many.String() + "('\\u{6d}',  &['\\u{72}',  '\\u{6e}']), ('\\u{131}',\n         &['\\u{69}'])"),
			map[rune]string{'m': "rn", 'ı': "i", 0x4e00: "\u5e00"}, false},
		{"too few entries", sample("('\\u{6d}',  &['\\u{72}',  '\\u{6e}'])"), nil, true},
		{"an entry not understood", sample(many.String() + "('\\u{6d}',  &['x'])"), nil, true},
		{"a character twice", sample(many.String() + "('\\u{4e00}',  &['\\u{69}'])"), nil, true},
		{"no table", "pub const UNICODE_VERSION: (u64, u64, u64) = (18, 0, 0);", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			version, table, err := parse([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("parse: %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if version != "18.0.0" {
				t.Errorf("version %q", version)
			}
			got := map[rune]string{}
			for i, m := range table {
				if i > 0 && table[i-1].source >= m.source {
					t.Fatalf("not sorted at %d", i)
				}
				got[m.source] = m.prototype
			}
			for r, p := range tc.want {
				if got[r] != p {
					t.Errorf("U+%04X → %+q, want %+q", r, got[r], p)
				}
			}
		})
	}
}
