package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// TestUserAgentStoredSafely, as a client sending any bytes it likes as its
// User-Agent: a correct login is 200 on every store whatever the header
// holds (bytes that are not UTF-8, a header of many kilobytes), and the
// session keeps a bounded, valid UTF-8 value that the owner's session list
// shows. PostgreSQL refuses text that is not UTF-8: stored as sent, such a
// header turned the login into a 500.
func TestUserAgentStoredSafely(t *testing.T) {
	const pw = "correct horse battery"
	agents := []struct{ name, ua string }{
		{"Latin-1 bytes", "Mozilla/5.0 (caf\xe9)"},
		{"bytes of no encoding", "\xff\xfe\xfd agent \xc3"},
		{"a cut rune", "agent \xe2\x82"},
		{"16 KiB", strings.Repeat("A", 16<<10)},
		{"16 KiB of runes with a cut one", strings.Repeat("é", 8<<10) + "\xc3"},
	}
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.signup("uma", pw)
			for _, a := range agents {
				r := e.do("POST", "/auth/login", map[string]string{"username": "uma", "password": pw}, "User-Agent", a.ua)
				if r.Status != http.StatusOK {
					t.Fatalf("%s: login %d %s; want 200", a.name, r.Status, r.Raw)
				}
				p := pairOf(t, r)
				s, err := e.store.GetSession(testenv.Context(t), sessionOf(t, p.Refresh))
				if err != nil {
					t.Fatalf("%s: %v", a.name, err)
				}
				if !utf8.ValidString(s.UserAgent) || len(s.UserAgent) > 256 || s.UserAgent == "" {
					t.Errorf("%s: stored user agent %q (%d bytes); want valid UTF-8, 1 to 256 bytes", a.name, s.UserAgent, len(s.UserAgent))
				}
				if !utf8.ValidString(s.IP) || s.IP == "" {
					t.Errorf("%s: stored IP %q", a.name, s.IP)
				}
				list := e.do("GET", "/auth/sessions", nil, "Authorization", "Bearer "+p.Access)
				if list.Status != http.StatusOK || !strings.Contains(list.Raw, `"current":true`) {
					t.Fatalf("%s: list %d %s", a.name, list.Status, list.Raw)
				}
			}
		})
	}
}

// TestMailUserAgentStoredSafely, as the same client on the routes that queue
// a mail: the mail's data (the "from where" a notice shows) holds the IP and
// user agent as a session would keep them, so a signup with an address is
// 201 on every store whatever the header holds, and each queued message
// carries a bounded, valid UTF-8 value. Stored as sent, such a header made
// the signup's outbox write a 500 on PostgreSQL.
func TestMailUserAgentStoredSafely(t *testing.T) {
	agents := []struct{ name, ua string }{
		{"Latin-1 bytes", "Mozilla/5.0 (caf\xe9)"},
		{"bytes of no encoding", "\xff\xfe\xfd agent \xc3"},
		{"16 KiB", strings.Repeat("A", 16<<10)},
	}
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			for i, a := range agents {
				user := fmt.Sprintf("ua%d", i)
				r := e.do("POST", "/auth/signup", map[string]string{"username": user, "password": recoveryPW, "email": user + "@example.com"}, "User-Agent", a.ua)
				if r.Status != http.StatusCreated {
					t.Fatalf("%s: signup %d %s; want 201", a.name, r.Status, r.Raw)
				}
				msgs := e.mails(user+"@example.com", outbox.VerifyEmail)
				if len(msgs) != 1 {
					t.Fatalf("%s: %d verification mails; want 1", a.name, len(msgs))
				}
				ua := msgs[0].Data[auth.DataUserAgent]
				if !utf8.ValidString(ua) || len(ua) > 256 || ua == "" {
					t.Errorf("%s: the mail's user agent %q (%d bytes); want valid UTF-8, 1 to 256 bytes", a.name, ua, len(ua))
				}
			}
		})
	}
}
