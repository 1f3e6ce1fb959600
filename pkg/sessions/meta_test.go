package sessions_test

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestMetaSanitized, as a client choosing its User-Agent bytes: what a
// session keeps is valid UTF-8 without controls (PostgreSQL refuses other
// text, NUL included), bounded, and as sent when it already was all that.
func TestMetaSanitized(t *testing.T) {
	const r = "\uFFFD"
	tests := []struct {
		name   string
		ua, ip string
		wantUA string
		wantIP string
	}{
		{"ordinary", "Mozilla/5.0 (X11; Linux x86_64)", "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)", "203.0.113.7"},
		{"IPv6", "curl/8.0", "2001:db8::1", "curl/8.0", "2001:db8::1"},
		{"Latin-1 byte", "caf\xe9", "203.0.113.7", "caf" + r, "203.0.113.7"},
		{"no encoding at all", "\xff\xfe", "", r + r, ""},
		{"a cut rune", "agent \xe2\x82", "", "agent " + r + r, ""},
		{"NUL and other controls", "a\x00b\x1bc\x7fd\u0085e", "", "a" + r + "b" + r + "c" + r + "d" + r + "e", ""},
		{"invalid IP bytes", "", "1.2.3.4\xff\x00", "", "1.2.3.4" + r + r},
		{"long", strings.Repeat("a", 1000), strings.Repeat("1", 100), strings.Repeat("a", 256), strings.Repeat("1", 64)},
		{"long, cut before a rune", strings.Repeat("a", 255) + "é", "", strings.Repeat("a", 255), ""},
		{"long, replacements at the cut", strings.Repeat("a", 254) + "\xff\xff", "", strings.Repeat("a", 254), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sessions.Meta{IP: tc.ip, UserAgent: tc.ua}.Sanitized()
			if got.UserAgent != tc.wantUA || got.IP != tc.wantIP {
				t.Fatalf("Sanitized = %+q; want UA %+q, IP %+q", got, tc.wantUA, tc.wantIP)
			}
		})
	}
}

// TestStartStoresSanitizedMeta: Start stores the sanitized metadata, never
// the bytes as sent.
func TestStartStoresSanitizedMeta(t *testing.T) {
	m, st := manager(t, 0)
	meta := sessions.Meta{IP: "203.0.113.7\xff", UserAgent: "caf\xe9\x00" + strings.Repeat("x", 1<<20)}
	iss, err := m.Start(context.Background(), owner(t, st), meta, t0)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetSession(context.Background(), iss.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := meta.Sanitized()
	if stored.UserAgent != want.UserAgent || stored.IP != want.IP || !utf8.ValidString(stored.UserAgent) || len(stored.UserAgent) > 256 {
		t.Fatalf("stored %+q, %+q; want %+q", stored.IP, stored.UserAgent[:min(len(stored.UserAgent), 40)], want)
	}
}

// FuzzMetaSanitized: whatever the bytes, the result is valid UTF-8 without
// controls, within the bounds, and a clean value within them is unchanged.
func FuzzMetaSanitized(f *testing.F) {
	f.Add("Mozilla/5.0", "203.0.113.7")
	f.Add("caf\xe9\x00", "::1\xff")
	f.Add(strings.Repeat("é", 200)+"\xc3", strings.Repeat("1", 70))
	f.Fuzz(func(t *testing.T, ua, ip string) {
		got := sessions.Meta{IP: ip, UserAgent: ua}.Sanitized()
		for _, c := range []struct {
			in, out string
			max     int
		}{{ua, got.UserAgent, 256}, {ip, got.IP, 64}} {
			if !utf8.ValidString(c.out) || len(c.out) > c.max {
				t.Fatalf("%+q → %+q", c.in, c.out)
			}
			if strings.IndexFunc(c.out, unicode.IsControl) >= 0 {
				t.Fatalf("%+q → %+q keeps a control", c.in, c.out)
			}
			if len(c.in) <= c.max && utf8.ValidString(c.in) && strings.IndexFunc(c.in, unicode.IsControl) < 0 && c.out != c.in {
				t.Fatalf("clean %+q → %+q", c.in, c.out)
			}
		}
	})
}
