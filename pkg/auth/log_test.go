package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// fingerprint is what the deployment wires into auth.Service.Fingerprint:
// HMAC-SHA256 under a server key, truncated.
func fingerprint(key []byte) func(context.Context, string) string {
	return func(_ context.Context, name string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(name))
		return hex.EncodeToString(m.Sum(nil)[:12])
	}
}

// TestLoginLogNamesNoUsername: a failed or throttled login is logged with the
// user id of an existing account, or a keyed fingerprint of an unknown name,
// never with the name as typed (it may be a password typed into the wrong
// field).
func TestLoginLogNamesNoUsername(t *testing.T) {
	const pw = "correct horse battery"
	// A password typed into the username field: it passes as a username.
	const typed = "Tr0ub4dor-And-3"
	fp := fingerprint([]byte("test server key"))
	cases := []struct {
		name        string
		username    string
		fingerprint func(context.Context, string) string
		want        map[string]string // attributes every login_failed/login_throttled line has
		absent      []string          // attributes they must not have
	}{
		{"known user", "Alice", fp, map[string]string{"user_id": "<id>"}, []string{"username", "username_fp"}},
		{"unknown user with a fingerprint", typed, fp, map[string]string{"username_fp": fp(context.Background(), strings.ToLower(typed))}, []string{"username", "user_id"}},
		{"unknown user without a fingerprint", typed, nil, nil, []string{"username", "user_id", "username_fp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testlog.Buffer{}
			cfg := config.Default()
			cfg.LoginMaxFailures = 1
			svc := testapi.Service(t, cfg, testapi.Deps(t, cfg, memory.New(), logs.Logger(slog.LevelInfo)))
			svc.Fingerprint = tc.fingerprint
			now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			svc.Now = func() time.Time { return now }
			ctx := context.Background()
			id, err := svc.Signup(ctx, "alice", pw)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // a failure, then the lock
				if _, err := svc.Login(ctx, tc.username, "wrong password", "", auth.Client{IP: "192.0.2.1"}); err == nil {
					t.Fatal("login with a wrong password succeeded")
				}
			}

			seen := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				ev, _ := m["event"].(string)
				if ev != "login_failed" && ev != "login_throttled" {
					continue
				}
				seen[ev]++
				for k, v := range tc.want {
					if v == "<id>" {
						v = id
					}
					if m[k] != v {
						t.Errorf("%s: %s = %v; want %q", ev, k, m[k], v)
					}
				}
				for _, k := range tc.absent {
					if _, ok := m[k]; ok {
						t.Errorf("%s carries %s: %s", ev, k, line)
					}
				}
			}
			if seen["login_failed"] != 1 || seen["login_throttled"] != 1 {
				t.Fatalf("events %v; want one login_failed and one login_throttled\n%s", seen, logs.String())
			}
			if l := strings.ToLower(logs.String()); strings.Contains(l, strings.ToLower(tc.username)) {
				t.Fatalf("the log contains the username as typed:\n%s", logs.String())
			}
		})
	}
}
