package lambda_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// logDelta is what a function wrote while one invocation ran: its lines,
// split into Lambda's platform lines (START, END, REPORT: what the plain-text
// log format adds to every invocation) and the function's own lines.
type logDelta struct {
	platform, app []string
}

func (d logDelta) bytes(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return n
}

// measure runs one warm invocation of the function id (through do) and
// returns what it logged: everything the emulator printed from the start of
// the invocation to its REPORT line.
func measure(t *testing.T, id string, do func()) logDelta {
	t.Helper()
	f := requireEnv(t).start(t, id)
	from := len(f.log.String())
	do()
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(f.log.String()[from:], "REPORT RequestId:") {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no REPORT line after the invocation:\n%s", id, f.log.String()[from:])
		}
		time.Sleep(10 * time.Millisecond)
	}
	var d logDelta
	for _, l := range strings.Split(strings.TrimRight(f.log.String()[from:], "\n"), "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "START RequestId:"), strings.HasPrefix(l, "END RequestId:"), strings.HasPrefix(l, "REPORT RequestId:"):
			d.platform = append(d.platform, l)
		default:
			d.app = append(d.app, l)
		}
	}
	return d
}

// TestLogBytesPerInvocation measures, on the real binaries, what a warm
// invocation of each hot flow writes: the platform lines Lambda's
// plain-text format adds (SystemLogLevel WARN drops them in the JSON format
// the template configures) and the function's own JSON lines. An allowed
// authorization and a refresh write none of their own: they run for every
// user every token lifetime. docs/COST.md prices the figures it logs
// (bash scripts/lambda-test.sh -run TestLogBytesPerInvocation -v).
func TestLogBytesPerInvocation(t *testing.T) {
	requireEnv(t)
	username := fmt.Sprintf("logs-%d", time.Now().UnixNano())
	const password = "correct horse battery staple 42"
	signup(t, username, password)
	// Warm every function first: a cold start also logs the key fetch.
	tk := login(t, username, password)
	if p, msg := authorize(t, "Bearer "+tk.Access); msg != "" || p.PrincipalID == "" {
		t.Fatalf("authorize: %q", msg)
	}
	refresh := func() {
		r := call(t, "RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": tk.Refresh})})
		expectStatus(t, "refresh", r, 200)
		tk = checkTokenResponse(t, "refresh", r)
	}
	refresh()

	for _, tc := range []struct {
		flow, id string
		do       func()
		appLines int
	}{
		{"login", "LoginFunction", func() { tk = login(t, username, password) }, 1},
		{"authorizer (allowed)", "AuthorizerFunction", func() {
			if _, msg := authorize(t, "Bearer "+tk.Access); msg != "" {
				t.Fatalf("authorize: %q", msg)
			}
		}, 0},
		{"refresh", "RefreshFunction", refresh, 0},
		{"logout", "LogoutFunction", func() {
			r := call(t, "LogoutFunction", request{method: "POST", path: "/auth/logout", body: mustJSON(map[string]string{"refresh_token": tk.Refresh})})
			expectStatus(t, "logout", r, 204)
		}, 1},
	} {
		d := measure(t, tc.id, tc.do)
		t.Logf("%s: platform %d line(s) %d bytes; own %d line(s) %d bytes", tc.flow, len(d.platform), d.bytes(d.platform), len(d.app), d.bytes(d.app))
		if len(d.platform) != 3 {
			t.Errorf("%s: %d platform lines, want START, END and REPORT: %q", tc.flow, len(d.platform), d.platform)
		}
		if len(d.app) != tc.appLines {
			t.Errorf("%s: %d line(s) of its own, want %d: %q", tc.flow, len(d.app), tc.appLines, d.app)
		}
	}
}
